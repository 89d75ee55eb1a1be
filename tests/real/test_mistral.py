"""VMR's ``mistral`` action against real Mistral 23: the referee for the lab.

The session's real tier runs Mistral's api, engine and executor for these
tests only (``real_services('mistral')``).  The workflow is registered
through Mistral's API with openstacksdk and really does something a test
can see: its ``std.http`` task, run by Mistral's executor, POSTs the
``event`` and ``server`` the action handed it to a small HTTP listener the
test runs on 127.0.0.1.
"""

import http.server
import json
import queue
import re
import threading

import pytest

from tests.support.actions import context, run
from vmr_coordinator.actions import base

pytestmark = pytest.mark.real_services('mistral')


WORKFLOW = """\
version: '2.0'
vmr_callback:
  description: tell a listener which server VMR handed over, and why
  input: [event, server, callback]
  output:
    status: <% $.status %>
  tasks:
    call_back:
      action: std.http
      input:
        url: <% $.callback %>
        method: POST
        json:
          event: <% $.event %>
          server: <% $.server %>
      publish:
        status: <% task().result.status %>
vmr_broken:
  input: [event, server]
  tasks:
    stop_db:
      action: std.fail
      input:
        error_data: database did not stop
"""


class Listener:
    """An HTTP server on 127.0.0.1 that keeps the JSON bodies POSTed to it."""

    def __init__(self):
        bodies = self.bodies = queue.Queue()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                bodies.put(json.loads(self.rfile.read(length) or b'null'))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.url = 'http://127.0.0.1:%d/vmr-callback' % \
            self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture
def workflows(cloud, conn):
    """The two workflows, registered through Mistral's API; deleted after
    the test with every execution of theirs."""
    assert cloud.openstack.mistral, \
        'the session tier was started without Mistral'
    conn.workflow.create_workflow(definition=WORKFLOW, scope='private')
    found = {name: conn.workflow.find_workflow(name)
             for name in ('vmr_callback', 'vmr_broken')}
    yield found
    for workflow in found.values():
        for execution in conn.workflow.executions():
            if execution.workflow_id == workflow.id:
                conn.workflow.delete_execution(execution, ignore_missing=True)
        conn.workflow.delete_workflow(workflow)


def assert_logged_by_mistral(cloud, execution_id):
    """Mistral's engine logged the execution that ``execution_id`` names:
    the evidence an operator greps for (Mistral's API answers no
    ``x-openstack-request-id``, so the action records none)."""
    log = cloud.openstack.log_text('mistral')
    assert 'Created workflow execution [' in log
    assert 'wf_ex_id=%s' % execution_id in log


def test_workflow_calls_back_once_and_a_resumed_step_finds_it(
        cloud, conn, workflows, listener):
    print('mistral start-up (s): %s' % {
        k: v for k, v in cloud.openstack.timings.items() if 'mistral' in k})
    server = cloud.boot('sap-1', 'compute-1', metadata={'app': 'sap'})
    params = {'workflow': 'vmr_callback', 'input': {'callback': listener.url},
              'timeout': 120}
    first, resumed = (context(conn, server, 'compute-1', timeout=150,
                              poll=0.2) for _ in range(2))

    action, result = run('mistral', params, first)
    assert result.startswith('started execution '), result
    assert result.split(' [')[0].endswith('of vmr_callback: SUCCESS')
    execution_id = result.split()[2]
    # Real Mistral answers without x-openstack-request-id: the execution
    # id is the evidence.
    assert action.request_ids == []
    assert_logged_by_mistral(cloud, execution_id)

    execution = conn.workflow.get_execution(execution_id)
    assert execution.status == 'SUCCESS'
    assert execution.workflow_id == workflows['vmr_callback'].id
    assert execution.description.startswith('vmr-step ')
    assert json.loads(execution.output) == {'status': 204}
    # What Mistral's executor really sent to the listener.
    body = listener.bodies.get(timeout=10)
    assert body['event'] == first.event
    assert body['server']['id'] == server.id
    assert body['server']['metadata'] == {'app': 'sap'}
    assert listener.bodies.empty()

    # A new leader resuming the step finds the execution by its
    # description: nothing is started, nothing called back again.
    action, result = run('mistral', params, resumed)
    assert result == 'found execution %s of vmr_callback: SUCCESS' % \
        execution_id
    assert action.request_ids == []
    mine = [e for e in conn.workflow.executions()
            if e.workflow_id == workflows['vmr_callback'].id]
    assert [e.id for e in mine] == [execution_id]
    assert listener.bodies.empty()


@pytest.mark.slow
def test_failed_workflow_raises_with_state_info(cloud, conn, workflows):
    server = cloud.boot('sap-2', 'compute-2', metadata={'app': 'sap'})
    with pytest.raises(base.ActionError) as err:
        run('mistral', {'workflow': 'vmr_broken', 'timeout': 120},
            context(conn, server, 'compute-2', timeout=150, poll=0.2))
    assert not isinstance(err.value, base.RetryableError)
    message = str(err.value)
    assert re.search(r'Mistral execution \S+ of vmr_broken ended ERROR: ',
                     message), message
    # Mistral's state_info: the failed task, then std.fail's error_data.
    assert re.search(r'ended ERROR: Failure caused by error in tasks: '
                     r'stop_db\n\n  stop_db \[task_ex_id=\S+\] -> database '
                     r'did not stop\n    \[action_ex_id=\S+, idx=0\]: '
                     r'database did not stop', message), message
    assert_logged_by_mistral(cloud, message.split()[2])
