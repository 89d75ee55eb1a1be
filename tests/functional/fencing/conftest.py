"""Fixtures for fencing against real virtual BMCs on 127.0.0.1.

``bmc_server``  one :class:`vmr_lab.bmc.BmcServer` for the module.
``make_bmc``    factory: a fresh BMC on a free UDP port with an in-memory
                host power state (``host.power``), removed after the test.
``conf``        oslo.config object with the [fencing] options registered.
``ipmitool``    ``ipmitool(bmc, 'power', 'status')`` -> stdout; the password
                goes through ``IPMI_PASSWORD`` (-E), never argv.
"""

import os
import subprocess
import uuid

import pytest

from tests.support.fencing import IPMITOOL, make_conf
from vmr_lab.ports import free_udp_port
from vmr_lab.bmc import BmcServer, PowerState

BMC_USER = 'fence-admin'


class Bmc:
    """A test BMC: its handle, its host's power, and its credentials."""

    def __init__(self, handle, host, password):
        self.handle = handle
        self.host = host
        self.password = password
        self.address = handle.address
        self.port = handle.port
        self.username = handle.username

    def ipmi_options(self, **extra):
        options = {'address': self.address, 'port': self.port,
                   'username': self.username, 'password': self.password}
        options.update(extra)
        return options

    def agent_options(self, **extra):
        options = self.ipmi_options(agent='fence_ipmilan', options={
            'lanplus': 1, 'power_wait': 0, 'stonith_status_sleep': 0,
            'power_timeout': 5})
        options.update(extra)
        return options


@pytest.fixture(scope='module')
def bmc_server():
    server = BmcServer(address='127.0.0.1').start()
    yield server
    server.stop()


@pytest.fixture
def make_bmc(bmc_server):
    created = []

    def make(password=None):
        name = 'bmc-%s' % uuid.uuid4().hex[:8]
        password = password or 'pw-%s' % uuid.uuid4().hex[:12]
        host = PowerState()
        handle = bmc_server.add(name, free_udp_port(), BMC_USER, password,
                                host.get_power, host.set_power)
        created.append(name)
        return Bmc(handle, host, password)

    yield make
    for name in created:
        bmc_server.remove(name)


@pytest.fixture
def conf():
    return make_conf(0.05)


@pytest.fixture
def ipmitool():
    def run(bmc, *args):
        env = dict(os.environ, IPMI_PASSWORD=bmc.password)
        proc = subprocess.run(
            [IPMITOOL, '-I', 'lanplus', '-H', bmc.address, '-p',
             str(bmc.port), '-U', bmc.username, '-E', '-N', '1', '-R', '2']
            + list(args), env=env, capture_output=True, text=True,
            timeout=20)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()
    return run
