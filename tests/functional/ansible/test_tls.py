"""etcd with TLS and client certificate auth, and an agent that joins over it.

A real run of ansible/site.yml with only an etcd member and one agent (the
coordinator side uses the same shared settings of the vmr role): certificates
come from a throw-away CA made with openssl. Checks that etcd refuses a
client without a certificate, that the agent is a member (read over TLS with
the client certificate) and that the private keys are not world-readable.
Same machinery and finalizer as test_site.py (tests/support/ansible_site.py).
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import requests
import yaml

from tests.support import ansible_site
from tests.support.ansible_site import Deployment

pytestmark = [pytest.mark.slow,
              pytest.mark.timeout(900),
              pytest.mark.skipif(ansible_site.unavailable() is not None,
                                 reason=str(ansible_site.unavailable())),
              pytest.mark.skipif(shutil.which('openssl') is None,
                                 reason='openssl is needed to make test certificates')]


def _openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(directory):
    """ca.crt, server.crt/key (server + client auth, IP 127.0.0.1), client.crt/key."""
    os.makedirs(directory)
    _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
             '-subj', '/CN=vmr-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt',
             cwd=directory)
    for name, usage in (('server', 'serverAuth,clientAuth'), ('client', 'clientAuth')):
        with open(os.path.join(directory, '%s.ext' % name), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n'
                    'extendedKeyUsage=%s\n' % usage)
        _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=vmr-%s' % name,
                 '-keyout', '%s.key' % name, '-out', '%s.csr' % name, cwd=directory)
        _openssl('x509', '-req', '-in', '%s.csr' % name, '-CA', 'ca.crt',
                 '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
                 '-extfile', '%s.ext' % name, '-out', '%s.crt' % name, cwd=directory)
    return {n: os.path.join(directory, n) for n in
            ('ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key')}


@pytest.fixture
def deployment():
    workdir = tempfile.mkdtemp(prefix='vmr-ansible-tls-')
    os.chmod(workdir, 0o755)
    dep = Deployment(workdir)
    try:
        yield dep
    finally:
        dep.kill_everything()
        if not os.environ.get('VMR_KEEP_TMP'):
            shutil.rmtree(workdir, ignore_errors=True)
        for user in (ansible_site.TEST_USER, ansible_site.ETCD_TEST_USER):
            if user not in ansible_site.USERS_BEFORE:
                subprocess.run(['userdel', user], capture_output=True)
                subprocess.run(['groupdel', user], capture_output=True)


def test_etcd_tls_with_client_certificates(deployment):
    python = ansible_site.venv_python()
    if python is None:
        pytest.skip('no python3 with venv that an unprivileged user can run')
    pki = make_pki(os.path.join(deployment.workdir, 'pki'))
    wheel = deployment.build_wheel()
    inventory = deployment.write_inventory(wheel, python)
    all_vars = inventory['all']['vars']
    all_vars.update({
        'etcd_tls_enabled': True, 'etcd_client_cert_auth': True,
        'etcd_tls_ca_cert': pki['ca.crt'], 'etcd_tls_cert': pki['server.crt'],
        'etcd_tls_key': pki['server.key'],
        'vmr_etcd_tls_enabled': True, 'vmr_etcd_ca_cert': pki['ca.crt'],
        'vmr_etcd_client_cert': pki['client.crt'], 'vmr_etcd_client_key': pki['client.key'],
    })
    children = inventory['all']['children']
    children['controller']['hosts'] = {}
    del children['compute']['hosts']['compute-2']
    with open(deployment.inventory, 'w') as f:
        yaml.safe_dump(inventory, f, default_flow_style=False)

    recap, output, took = deployment.play('site.yml')
    assert set(recap) == {'etcd-1', 'compute-1'}, recap
    assert all(r['failed'] == 0 for r in recap.values())

    url = 'https://127.0.0.1:%d' % deployment.etcd_port
    # no client certificate: refused by etcd
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(url + '/v3/kv/range', json={'key': 'Zm9v'}, verify=pki['ca.crt'],
                      timeout=5)
    import base64
    key = '/vmr/%s/groups/vmr-agents/compute-1' % ansible_site.CLUSTER
    resp = requests.post(url + '/v3/kv/range', verify=pki['ca.crt'],
                         cert=(pki['client.crt'], pki['client.key']), timeout=5,
                         json={'key': base64.b64encode(key.encode()).decode()})
    assert resp.status_code == 200 and resp.json().get('kvs'), resp.text

    # keys on the hosts: not readable by others
    for path in (os.path.join(deployment.root('etcd-1'), 'etc', 'etcd', 'pki', 'server.key'),
                 os.path.join(deployment.root('compute-1'), 'etc', 'vmr', 'pki',
                              'etcd-client.key')):
        assert not stat.S_IMODE(os.stat(path).st_mode) & 0o007, path
    assert open(pki['client.key']).read().strip().splitlines()[1] not in output

    recap, output, _ = deployment.play('uninstall.yml')
    assert all(r['failed'] == 0 for r in recap.values())
    assert deployment.pid_files() == []
    sys.stderr.write('ansible TLS install: %.0f s\n' % took)
