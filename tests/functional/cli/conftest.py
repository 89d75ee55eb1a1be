"""Fixtures of the CLI tests: the `vmr` CLI against a real API and etcd."""

import pytest

from tests.support.api_harness import start_harness
from vmr_client import shell


class Cli:
    """Runs ``vmr --url <api> ...`` in-process and captures its output."""

    def __init__(self, api, capsys):
        self.api = api
        self.capsys = capsys

    def __call__(self, *argv, expect=0):
        self.capsys.readouterr()
        rc = shell.main(['--url', self.api.url] + list(argv))
        out, err = self.capsys.readouterr()
        assert rc == expect, 'vmr %s -> %s\nstdout: %s\nstderr: %s' % (
            ' '.join(argv), rc, out, err)
        return out, err


@pytest.fixture
def api(etcd_server):
    harness = start_harness(etcd_server)
    yield harness
    harness.close()


@pytest.fixture
def vmr(api, capsys):
    return Cli(api, capsys)
