"""Mistral through openstacksdk: what VMR's ``mistral`` action does.

Define a workflow from DSL text, start an execution with the recovery event
as input, and read its state until it ends SUCCESS or ERROR.
"""

import json
import time

import openstack.exceptions
import pytest

try:
    from . import _services_harness as h
except ImportError:  # the lab test directory is not a package
    import _services_harness as h


@pytest.fixture(autouse=True)
def _needs_mistral(conn):
    h.require_service(conn, 'workflow')

HEAL_WORKFLOW = """\
version: '2.0'
%(name)s:
  type: direct
  input:
    - host
    - servers
    - reason: host_down
  output:
    healed: <%% $.servers %%>
  tasks:
    notify:
      action: std.noop
"""

FAILING_WORKFLOW = """\
version: '2.0'
%(name)s:
  input: [host]
  tasks:
    give_up:
      action: std.fail
"""


def _workflow(request, conn, name, template=HEAL_WORKFLOW):
    conn.workflow.create_workflow(definition=template % {'name': name},
                                  scope='private')
    request.addfinalizer(lambda: conn.workflow.delete_workflow(
        name, ignore_missing=True))
    return conn.workflow.get_workflow(name)


def _wait(conn, execution, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        execution = conn.workflow.get_execution(execution.id)
        if execution.status not in ('RUNNING', 'IDLE'):
            return execution
        if time.monotonic() > deadline:
            raise AssertionError('execution %s still %s' % (
                execution.id, execution.status))
        time.sleep(0.1)


def _input(execution):
    # Mistral returns input/output as JSON text; accept a dict as well.
    value = execution.input
    return json.loads(value) if isinstance(value, str) else value


def test_workflow_define_list_show(request, conn, unique_name):
    workflow = _workflow(request, conn, unique_name)
    assert workflow.name == unique_name
    assert workflow.input.startswith('host, servers')
    assert workflow.scope == 'private'
    assert unique_name in [w.name for w in conn.workflow.workflows()]
    assert conn.workflow.get_workflow(workflow.id).name == unique_name


def test_execution_records_input_and_succeeds(request, conn, unique_name):
    _workflow(request, conn, unique_name)
    event = {'host': 'compute-3', 'servers': ['a', 'b']}
    execution = conn.workflow.create_execution(workflow_name=unique_name,
                                               input=event)
    request.addfinalizer(lambda: conn.workflow.delete_execution(
        execution.id, ignore_missing=True))
    assert execution.status == 'RUNNING'
    assert _input(execution) == dict(event, reason='host_down')
    execution = _wait(conn, execution)
    assert execution.status == 'SUCCESS', execution.status_info
    assert execution.id in [e.id for e in conn.workflow.executions()]


def test_execution_fails_on_demand(request, conn, unique_name):
    failing = _workflow(request, conn, unique_name + '-stdfail',
                        FAILING_WORKFLOW)
    execution = conn.workflow.create_execution(workflow_name=failing.name,
                                               input={'host': 'compute-1'})
    execution = _wait(conn, execution)
    assert execution.status == 'ERROR'
    assert 'give_up' in execution.status_info
    assert "msg='Fail action expected exception.'" in execution.status_info


def test_fail_error_data_is_the_state_info(request, conn, unique_name):
    """std.fail's ``error_data`` is what state_info says (Mistral 23)."""
    failing = _workflow(request, conn, unique_name + '-stdfail',
                        FAILING_WORKFLOW.replace(
                            'action: std.fail',
                            'action: std.fail\n      input:\n'
                            '        error_data: the database did not stop'))
    execution = _wait(conn, conn.workflow.create_execution(
        workflow_name=failing.name, input={'host': 'compute-1'}))
    assert execution.status == 'ERROR'
    lines = execution.status_info.splitlines()
    assert lines[0] == 'Failure caused by error in tasks: give_up'
    assert lines[2].startswith('  give_up [task_ex_id=')
    assert lines[2].endswith('] -> the database did not stop')
    assert lines[3].endswith(', idx=0]: the database did not stop')


def test_lab_fail_input(request, lab, conn, unique_name):
    _workflow(request, conn, unique_name)
    execution = conn.workflow.create_execution(
        workflow_name=unique_name,
        input={'host': 'compute-1', 'servers': [], 'lab_fail': True})
    execution = _wait(conn, execution)
    assert execution.status == 'ERROR'
    assert execution.status_info.startswith('Failure caused by error')
    assert lab.mistral.execution_input(execution.id)['lab_fail'] is True


def test_errors(request, conn, unique_name):
    _workflow(request, conn, unique_name)
    with pytest.raises(openstack.exceptions.ConflictException):
        conn.workflow.create_workflow(
            definition=HEAL_WORKFLOW % {'name': unique_name},
            scope='private')
    with pytest.raises(openstack.exceptions.BadRequestException):
        conn.workflow.create_workflow(definition='version: "2.0"\n'
                                                 'broken: [', scope='private')
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.workflow.create_execution(workflow_name=unique_name + '-none',
                                       input={})
    with pytest.raises(openstack.exceptions.BadRequestException) as err:
        conn.workflow.create_execution(workflow_name=unique_name,
                                       input={'unknown': 1})
    assert 'Invalid input' in str(err.value)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.workflow.get_execution('00000000-0000-0000-0000-000000000000')


def test_error_bodies(conn):
    """Malformed requests: Mistral's WSME fault bodies."""
    # Bodies openstacksdk would never build, sent through its own session.
    response = conn.workflow.post('/executions', json={
        'workflow_name': 'vmr-no-such-workflow', 'input': 'not json'})
    assert response.status_code == 400
    assert 'faultstring' in response.json()
    response = conn.workflow.post('/executions', json={
        'workflow_name': 'vmr-no-such-workflow'})
    assert response.status_code == 404
    assert 'Workflow not found' in response.json()['faultstring']
