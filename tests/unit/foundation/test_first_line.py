"""``vmr_common.exceptions.first_line``: the one line of an error an
operator reads, used wherever a cloud or etcd error is logged or shown."""

from vmr_common.exceptions import first_line


def test_the_first_line_of_a_chained_message():
    exc = ConnectionError('Unable to establish connection to '
                          'http://127.0.0.1:8774/v2.1: refused\n'
                          'urllib3 ... the rest of the chain')
    assert first_line(exc) == ('Unable to establish connection to '
                               'http://127.0.0.1:8774/v2.1: refused')


def test_an_empty_message_gives_the_class_name():
    assert first_line(TimeoutError()) == 'TimeoutError'


def test_a_limit_cuts_the_line():
    assert first_line(ValueError('x' * 500), 300) == 'x' * 300
    assert first_line(ValueError('short'), 300) == 'short'
