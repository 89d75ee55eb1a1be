"""A lasting fault: ERROR at once, again with back-off, INFO when over."""

import logging

from vmr_common.faultlog import FaultLog


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_error_repeated_with_back_off_then_info(caplog):
    clock = Clock()
    log = logging.getLogger('test.faultlog')
    fault = FaultLog(log, 'etcd lost', initial=10, factor=2, maximum=30,
                     clock=clock)
    logged = []
    with caplog.at_level(logging.INFO, logger='test.faultlog'):
        for second in range(0, 80):
            clock.now = 100.0 + second
            if fault.report('no endpoint answered'):
                logged.append(second)
        clock.now = 181.0
        assert fault.clear() and not fault.clear()
    # at once, after 10 s, then 20 s, then capped at 30 s
    assert logged == [0, 10, 30, 60]
    levels = [r.levelname for r in caplog.records]
    assert levels == ['ERROR'] * 4 + ['INFO']
    assert caplog.records[0].getMessage() == 'etcd lost: no endpoint answered'
    assert caplog.records[1].getMessage() == \
        'etcd lost for 10 s now: no endpoint answered'
    assert caplog.records[-1].getMessage() == 'etcd lost: over after 81.0 s'


def test_a_new_text_is_logged_at_once():
    clock = Clock()
    fault = FaultLog(logging.getLogger('test.faultlog'), 'x', clock=clock)
    assert fault.report('a') and not fault.report('a')
    assert fault.report('b')
