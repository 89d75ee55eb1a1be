"""Errors are JSON, never tracebacks: 404, 405, 413 and the catch-all 500."""

from vmr_common.store import Store


def test_unknown_path_and_method(api):
    r = api.get('/v2/nothing')
    assert r.status_code == 404
    assert r.json()['error']['code'] == 404
    r = api.call('DELETE', '/v1/hosts')
    assert r.status_code == 405
    assert r.headers['Allow'] == 'GET'
    assert r.json()['error']['code'] == 405


def test_too_large_body(etcd_server):
    from tests.support.api_harness import start_harness
    api = start_harness(etcd_server, max_body_bytes=1024)
    try:
        r = api.post('/v1/pause', {'reason': 'x' * 2000})
        assert r.status_code == 413

        def chunks():  # no Content-Length: Transfer-Encoding: chunked
            yield b'{"reason": "'
            for _ in range(64):
                yield b'y' * 1024
            yield b'"}'
        r = api.http.post(api.url + '/v1/pause', data=chunks(),
                          headers={'Content-Type': 'application/json'})
        assert r.status_code == 413
        small = api.http.post(api.url + '/v1/pause', data=iter(
            [b'{"reason": ', b'"chunked"}']))
        assert small.status_code == 200, small.text
        assert api.store.get(api.store.keys.pause).json()['reason'] == \
            'chunked'
        api.post('/v1/resume')
        assert api.store.get(api.store.keys.pause) is None
    finally:
        api.close()


class BrokenStore(Store):
    """A store with a bug: the API must hide it behind a generic 500."""

    def get_prefix(self, prefix):
        raise RuntimeError('internal detail that must not leak')


def test_unexpected_error_is_a_generic_500(etcd_server, caplog):
    from tests.support.api_harness import start_harness
    api = start_harness(etcd_server, store_cls=BrokenStore)
    try:
        r = api.get('/v1/contracts')
        assert r.status_code == 500
        assert r.headers['Content-Type'].startswith('application/json')
        assert 'must not leak' not in r.text
        assert 'Traceback' not in r.text
        assert r.json()['error']['code'] == 500
        assert 'must not leak' in caplog.text  # the log has the details
    finally:
        api.close()
