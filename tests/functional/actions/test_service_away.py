"""An API away (a service restarting) is :class:`ServiceAway` to the
actions: a retry that spends none of the contract's retries, and no end to
a wait for a goal the cloud reaches on its own.  Real HTTP: a port where
nothing listens, and the lab's Nova."""

import socket

import openstack
import pytest

from vmr_coordinator.actions import base


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens (the port is held, not
    listening, so nothing else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        yield 'http://127.0.0.1:%d/v2.1' % sock.getsockname()[1]


def test_a_refused_connection_is_an_api_away(dead_url):
    conn = openstack.connection.Connection(
        auth_type='none', compute_endpoint_override=dead_url,
        compute_api_version='2.1')
    # a call on a connection that knew the API (keystoneauth's
    # ConnectFailure), and a new connection's version discovery
    for call in (lambda: conn.session.get(dead_url),
                 lambda: conn.compute.get_server('a-server')):
        with pytest.raises(base.ServiceAway) as caught:
            base.call(call)
        assert '127.0.0.1' in str(caught.value)
        assert '\n' not in str(caught.value)


@pytest.mark.parametrize('answers', [
    # an API away: refused, then no answer yet
    [base.ServiceAway('refused'), base.ServiceAway('refused'), None],
    # errors that may pass (Neutron restarting behind nova-api)
    [base.Transient('HTTP 500: Unexpected API Error'),
     base.Transient('HTTP 409: task_state rebuilding')],
], ids=['api-away', 'transient'])
def test_a_wait_outlasts(answers):
    answers = iter(answers + ['there'])

    def predicate():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    ctx = base.ActionContext(conn=None, server=None, host='compute-1',
                             event={}, deadline=float('inf'), poll=0)
    assert base.Action().wait(ctx, predicate, 'the goal') == 'there'


def test_a_wait_past_its_deadline_names_the_api_away():
    def predicate():
        raise base.ServiceAway('HTTP 503: nova-api restarting')

    ctx = base.ActionContext(conn=None, server=None, host='compute-1',
                             event={}, deadline=0, poll=0)
    with pytest.raises(base.RetryableError) as caught:
        base.Action().wait(ctx, predicate, 'the goal')
    assert str(caught.value) == ('timed out waiting for the goal (HTTP 503: '
                                 'nova-api restarting)')
    assert not isinstance(caught.value, base.ServiceAway)


def test_a_wait_ends_on_a_retryable_error_it_was_told():
    """A predicate that decides the attempt is over (a replacement in
    ERROR, deleted for the retry) still ends the wait."""
    def predicate():
        raise base.RetryableError('replacement went to ERROR')

    ctx = base.ActionContext(conn=None, server=None, host='compute-1',
                             event={}, deadline=float('inf'), poll=0)
    with pytest.raises(base.RetryableError) as caught:
        base.Action().wait(ctx, predicate, 'the goal')
    assert str(caught.value) == 'replacement went to ERROR'


def test_an_evacuation_read_answered_500_spends_no_attempt(lab, conn):
    """nova-api accepts the evacuation, then answers 500 to the reads of
    the server (Neutron restarting behind it, seen on the real tier): the
    action waits on and reports the evacuation done, sent once."""
    from tests.labfixtures import boot
    from tests.support.actions import context, events, fence
    from vmr_coordinator.actions.evacuate import Evacuate

    class ReadsFailAfterTheEvacuate(Evacuate):
        def _evacuate(self, *args, **kwargs):
            super()._evacuate(*args, **kwargs)
            lab.nova.inject_fault(500, count=3, method='GET',
                                  path_contains='/servers/' + server.id)

    server = boot(conn, 'web-1', 'compute-1')
    fence(lab, conn, 'compute-1')
    result = ReadsFailAfterTheEvacuate({}).run(
        context(conn, server, 'compute-1'))
    assert result.startswith('evacuated to '), result
    assert len(events(lab, 'evacuate')) == 1
    assert not lab.nova.injected_faults      # the three 500s were answered


@pytest.mark.parametrize('status,kind', [(503, base.ServiceAway),
                                         (502, base.ServiceAway),
                                         (500, base.ServerError),
                                         (429, base.ServerError),
                                         (409, base.Transient),
                                         (400, base.ActionError)])
def test_statuses(status, kind):
    def fail():
        raise openstack.exceptions.HttpException(
            message='from nova', http_status=status)
    with pytest.raises(base.ActionError) as caught:
        base.call(fail)
    assert type(caught.value) is kind
    # A wait polls through every one of them but a final error; the call
    # that asks for a change takes a 5xx or a 429 for "not now" (the same
    # attempt again, no retry spent) and a 409 for a spent retry.
    assert isinstance(caught.value, (base.ServiceAway, base.Transient)) == \
        (status != 400)
    assert isinstance(caught.value, base.NotNow) == (status not in (400,
                                                                    409))
