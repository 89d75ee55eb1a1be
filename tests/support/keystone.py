"""VMR behind Keystone: the API behind keystonemiddleware, the ``vmr`` CLI
and the ``openstack`` command against it, and the role checks any Keystone
in front of the API must pass.

The Keystone tests of the functional suite (lab Keystone) and of the real
tier (real Keystone) share these.  :func:`keystone_lab_fixture` and
:func:`kapi_fixture` make the ``lab`` and ``kapi`` fixtures of a test
module, as :mod:`tests.labfixtures` does for the lab cloud::

    lab = keystone_lab_fixture()
    kapi = kapi_fixture()
"""

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.api_harness import start_harness
from vmr_client import shell

#: the ``openstack`` command of this interpreter's environment (else PATH's)
OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')
if not os.access(OPENSTACK, os.X_OK):
    OPENSTACK = shutil.which('openstack') or OPENSTACK


def keystone_lab_fixture():
    """A ``lab`` fixture: a lab cloud with Keystone and no hosts, its
    clouds.yaml in ``OS_CLIENT_CONFIG_FILE`` and no ``OS_CLOUD``,
    ``OS_TOKEN`` or ``VMR_URL`` in the environment; stopped after the
    test."""
    def lab(tmp_path, monkeypatch):
        """A started lab cloud with Keystone and no hosts (its clouds.yaml
        in OS_CLIENT_CONFIG_FILE); stopped after the test."""
        from vmr_lab.cloud import LabCloud
        cloud = LabCloud(hosts=0, servers=0, bmc=False,
                         state_dir=str(tmp_path / 'lab'))
        cloud.start()
        path = cloud.write_clouds_yaml(str(tmp_path / 'clouds.yaml'))
        monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', path)
        for name in ('OS_CLOUD', 'OS_TOKEN', 'VMR_URL'):
            monkeypatch.delenv(name, raising=False)
        try:
            yield cloud
        finally:
            cloud.stop()
    return pytest.fixture(lab)


def kapi_fixture():
    """A ``kapi`` fixture: the API behind keystonemiddleware on the session's
    etcd, validating tokens with the ``lab`` fixture's Keystone."""
    def kapi(etcd_server, lab):
        """The API behind keystonemiddleware and the lab's Keystone."""
        from vmr_lab.cloud import ADMIN_PASSWORD
        harness = keystone_api(etcd_server, lab.auth_url, ADMIN_PASSWORD)
        yield harness
        harness.close()
    return pytest.fixture(kapi)


def keystone_api(etcd_server, auth_url, admin_password, **options):
    """The API behind keystonemiddleware, validating tokens with the
    Keystone at ``auth_url`` as its admin; ``options`` are more
    ``[keystone_authtoken]`` settings."""
    return start_harness(etcd_server, auth_strategy='keystone',
                         keystone_authtoken=dict({
                             'auth_type': 'password',
                             'auth_url': auth_url,
                             'username': 'admin',
                             'password': admin_password,
                             'project_name': 'admin',
                             'user_domain_name': 'Default',
                             'project_domain_name': 'Default',
                             'www_authenticate_uri': auth_url}, **options))


def vmr(capsys, *argv):
    """Run the ``vmr`` CLI in-process; ``(rc, stdout, stderr)``."""
    capsys.readouterr()
    rc = shell.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def openstack(*argv):
    """Run the ``openstack`` command; ``(rc, stdout, stderr)``."""
    proc = subprocess.run([OPENSTACK, *argv], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))
    return proc.returncode, proc.stdout, proc.stderr


def check_roles(kapi, capsys, cloud):
    """What any Keystone in front of the API must give: 401 without a
    token; the admin (clouds.yaml entry ``cloud``) reads the cloud; the
    project reader (``<cloud>-reader``) reads recoveries but not hosts,
    and is refused a write, by the policy rule's name; the admin's write is
    journaled with who did it."""
    url = kapi.url
    kapi.add_host('compute-1')

    rc, out, err = vmr(capsys, '--url', url, 'status')
    assert rc == 1 and 'HTTP 401' in err

    rc, out, err = vmr(capsys, '--os-cloud', cloud, '--url', url,
                       'status', '-f', 'value', '-c', 'hosts')
    assert rc == 0, err
    assert out.strip() == '1 (up=1)'

    # a project reader sees recoveries (its project's), not the cloud
    reader = cloud + '-reader'
    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url,
                       'recovery', 'list', '-f', 'value', '-c', 'ID')
    assert rc == 0, err
    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url,
                       'host', 'list')
    assert rc == 1
    assert 'HTTP 403' in err and 'vmr:host:list' in err

    rc, out, err = vmr(capsys, '--os-cloud', reader, '--url', url, 'pause')
    assert rc == 1
    assert 'HTTP 403' in err and 'vmr:cluster:pause' in err
    assert kapi.store.get(kapi.store.keys.pause) is None

    rc, out, err = vmr(capsys, '--os-cloud', cloud, '--url', url,
                       'pause', '--reason', 'keystone test')
    assert rc == 0, err
    assert kapi.store.get(kapi.store.keys.pause).json()['by'] == \
        'admin@admin'
