"""mistral starts one workflow execution per step and waits for it."""

import pytest

from tests.labfixtures import boot
from tests.support.actions import context, fence, run
from vmr_coordinator.actions import base

WORKFLOW = """\
version: '2.0'
sap_recover:
  input: [event, server, notify]
  output:
    notify: <% $.notify %>
  tasks:
    restart:
      action: std.noop
sap_broken:
  input: [event, server]
  tasks:
    stop_db:
      action: std.fail
"""


@pytest.fixture
def workflows(conn):
    conn.workflow.create_workflow(definition=WORKFLOW, scope='private')


def test_runs_workflow_once_and_waits(lab, conn, workflows):
    server = boot(conn, 'sap-1', 'compute-1', {'app': 'sap'})
    ctx = context(conn, server, 'compute-1')
    fence(lab, conn, 'compute-1')
    params = {'workflow': 'sap_recover', 'input': {'notify': 'sap-oncall'},
              'wait': True, 'timeout': 30}

    action, result = run('mistral', params, ctx)
    assert action.needs_fence is True
    assert result.startswith('started execution ')
    assert result.split(' [')[0].endswith('of sap_recover: SUCCESS')
    executions = list(conn.workflow.executions())
    assert len(executions) == 1
    recorded = lab.mistral.execution_input(executions[0].id)
    assert recorded['notify'] == 'sap-oncall'
    assert recorded['event'] == ctx.event
    assert recorded['server']['id'] == server.id
    assert recorded['server']['metadata'] == {'app': 'sap'}

    # Resumed step (same event, same server): finds it, starts nothing.
    action, result = run('mistral', params, ctx)
    assert result.startswith('found execution %s' % executions[0].id)
    assert action.request_ids == []
    assert len(list(conn.workflow.executions())) == 1
    # Another event is another step: a new execution.
    other = context(conn, server, 'compute-1',
                    event={'type': 'manual', 'host': 'compute-1'})
    run('mistral', dict(params, wait=False), other)
    assert len(list(conn.workflow.executions())) == 2
    assert lab.monitor.violations() == []


def test_failed_execution_is_final_with_state_info(lab, conn, workflows):
    server = boot(conn, 'sap-1', 'compute-1', {'app': 'sap'})
    with pytest.raises(base.ActionError) as err:
        run('mistral', {'workflow': 'sap_broken', 'timeout': 30},
            context(conn, server, 'compute-1'))
    assert not isinstance(err.value, base.RetryableError)
    assert 'ended ERROR: Failure caused by error in tasks: stop_db' in \
        str(err.value)


def test_needs_fence_and_unknown_workflow(lab, conn, workflows):
    assert base.load_action('mistral', {'workflow': 'x',
                                        'needs_fence': False}).needs_fence \
        is False
    server = boot(conn, 'sap-1', 'compute-1')
    with pytest.raises(base.ActionError, match="workflow 'nope' not found"):
        run('mistral', {'workflow': 'nope'},
            context(conn, server, 'compute-1'))


def test_timeout_is_retryable_and_the_retry_waits_for_the_same(lab, conn,
                                                                workflows):
    server = boot(conn, 'sap-1', 'compute-1', {'app': 'sap'})
    lab.mistral.execution_delay = 1.5
    params = {'workflow': 'sap_recover', 'input': {'notify': 'x'}}
    with pytest.raises(base.RetryableError, match='timed out waiting for '
                                                  'Mistral execution'):
        run('mistral', params, context(conn, server, 'compute-1',
                                       timeout=0.3))
    action, result = run('mistral', params,
                         context(conn, server, 'compute-1'))
    assert result.startswith('found execution ')
    assert 'SUCCESS' in result
    assert len(list(conn.workflow.executions())) == 1
