"""The coordinator's openstacksdk connection carries the configured Nova
microversion (openstacksdk drops ``compute_api_version`` given next to a
ready config, so it must go into the region's config)."""

import concurrent.futures
import http.server
import os
import threading

from oslo_config import cfg
import yaml

from vmr_common.conf import cloud as cloud_conf
from vmr_coordinator import cloud


def _conf(tmp_path, microversion):
    path = os.path.join(str(tmp_path), 'clouds.yaml')
    with open(path, 'w') as fh:
        yaml.safe_dump({'clouds': {'vmr': {
            'auth': {'auth_url': 'http://127.0.0.1:9/v3', 'username': 'u',
                     'password': 'p', 'project_name': 'p',
                     'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': 'RegionOne'}}}, fh)
    conf = cfg.ConfigOpts()
    cloud_conf.register_opts(conf)
    conf([], project='vmr-test')
    conf.set_override('cloud', 'vmr', 'cloud')
    conf.set_override('clouds_yaml', path, 'cloud')
    conf.set_override('compute_microversion', microversion, 'cloud')
    return conf


def test_connection_pins_the_configured_microversion(tmp_path):
    for version in ('2.95', '2.60'):
        conn = cloud.connect(_conf(tmp_path, version))
        assert conn.config.get_api_version('compute') == version


def test_clouds_yaml_is_the_only_source(tmp_path, monkeypatch):
    # a shell's clouds.yaml and OS_* variables do not replace the file the
    # configuration names
    other = tmp_path / 'other'
    other.mkdir()
    with open(str(other / 'clouds.yaml'), 'w') as fh:
        yaml.safe_dump({'clouds': {'vmr': {'auth': {
            'auth_url': 'http://127.0.0.1:8/v3', 'username': 'intruder',
            'password': 'x', 'project_name': 'x'}}}}, fh)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(other / 'clouds.yaml'))
    monkeypatch.setenv('OS_USERNAME', 'intruder')
    conn = cloud.connect(_conf(tmp_path, '2.95'))
    assert conn.config.config['auth']['username'] == 'u'
    assert conn.config.config['auth']['auth_url'] == 'http://127.0.0.1:9/v3'

    conf = _conf(tmp_path, '2.95')
    conf.set_override('clouds_yaml', str(tmp_path / 'missing.yaml'), 'cloud')
    try:
        cloud.connect(conf)
    except cloud.CloudError as exc:
        assert str(exc) == (
            'cannot read [cloud] clouds_yaml %s: it does not exist or this '
            'user may not read it; fix the path or its mode'
            % (tmp_path / 'missing.yaml'))
    else:
        raise AssertionError('a missing clouds_yaml was accepted')


class _Counting(http.server.ThreadingHTTPServer):
    """Answers once ``width`` requests are in flight together, and counts
    the TCP connections it accepted."""

    daemon_threads = True

    def __init__(self, width):
        self.accepted = 0
        self.barrier = threading.Barrier(width, timeout=20)
        super().__init__(('127.0.0.1', 0), _Handler)

    def get_request(self):
        self.accepted += 1
        return super().get_request()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):  # noqa: N802 - the http.server name
        self.server.barrier.wait()
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


def _connections_for_two_rounds(conn, width):
    """TCP connections ``width`` threads open for two rounds of
    ``width`` simultaneous requests through ``conn``'s HTTP session."""
    server = _Counting(width)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = 'http://127.0.0.1:%d/' % server.server_address[1]
    session = conn.session.session
    try:
        with concurrent.futures.ThreadPoolExecutor(width) as pool:
            for _ in range(2):
                statuses = list(pool.map(
                    lambda _: session.get(url, timeout=30).status_code,
                    range(width)))
                assert statuses == [200] * width
    finally:
        server.shutdown()
        server.server_close()
    return server.accepted


def test_pool_sized_to_the_engine_keeps_every_connection(tmp_path):
    conf = _conf(tmp_path, '2.95')
    # 16 workers at once: the default pool of 10 throws 6 connections
    # away after each round, a pool of 18 keeps them all
    assert _connections_for_two_rounds(cloud.connect(conf), 16) > 16
    assert _connections_for_two_rounds(
        cloud.connect(conf, pool_size=18), 16) == 16
