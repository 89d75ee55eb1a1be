"""Fixtures of the CLI tests: the `vmr` CLI against a real API and etcd."""

import pytest

from tests.support.api_harness import Cli, start_harness


@pytest.fixture
def api(etcd_server):
    harness = start_harness(etcd_server)
    yield harness
    harness.close()


@pytest.fixture
def vmr(api, capsys):
    return Cli(api, capsys)
