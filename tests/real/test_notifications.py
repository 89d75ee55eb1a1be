"""Recovery events on the wire: VMR's publisher with oslo.messaging (from
the real tier's release set) over a RabbitMQ node of the test's own, to a
real oslo.messaging notification listener -- what Ceilometer or any
OpenStack consumer runs (issue 21).

It runs with the real tier's Python, where oslo.messaging is: VMR's test
virtualenv stays without it (it pulls in eventlet, whose import warnings
would end up in every VMR process's stderr).
"""

import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_an_oslo_messaging_listener_receives_the_events(real_prerequisites,
                                                        tmp_path):
    from vmr_lab.ports import free_port
    from vmr_lab.real import infra
    from vmr_lab.real.install import ensure_installed
    python = ensure_installed(log=print).python
    node = infra.RabbitMQ(str(tmp_path))
    node.start()
    try:
        dead = 'rabbit://vmr:s3cret@127.0.0.1:%d/' % free_port()
        done = subprocess.run(
            [python, os.path.join(HERE, 'notify_roundtrip.py'), node.url,
             dead], capture_output=True, text=True, timeout=300,
            env=dict(os.environ, PYTHONPATH=ROOT))
    finally:
        node.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    got = [(e['priority'], e['event_type']) for e in result['received']]
    assert got == [('ERROR', 'vmr.host.failed'),
                   ('INFO', 'vmr.recovery.start'),
                   ('ERROR', 'vmr.step.failed'),
                   ('INFO', 'vmr.recovery.end')], got
    assert result['flushed'] is True
    by_type = {e['event_type']: e for e in result['received']}
    assert {e['publisher_id'] for e in result['received']} == {
        'vmr-coordinator.controller-1'}
    assert by_type['vmr.host.failed']['payload'] == {
        'host': 'compute-2', 'reason': 'no heartbeat, unreachable',
        'boot_id': 'boot-1', 'recovery_id': 'compute-2-abcd-1'}
    step = by_type['vmr.step.failed']['payload']
    assert (step['server_name'], step['error']) == ('web-2', 'Nova: HTTP 500')
    end = by_type['vmr.recovery.end']['payload']
    assert (end['state'], end['steps']) == ('failed',
                                            {'done': 1, 'failed': 1})
    # a dead bus: publish() returns at once, close() does not wait for the
    # bus; oslo.messaging itself logs the event it could not deliver (and
    # raises nothing to VMR), never the URL's password
    dead_run = result['dead']
    assert dead_run['publish_s'] < 0.5 and dead_run['close_s'] < 1.0
    assert 'Could not send notification to %s' % 'vmr-roundtrip' in \
        done.stderr
    assert 's3cret' not in done.stderr and 'guest:guest' not in done.stderr
