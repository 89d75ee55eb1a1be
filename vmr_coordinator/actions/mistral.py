"""``mistral``: hand the recovery to a Mistral workflow.

The execution's input is the contract's ``input`` plus ``event`` (the
trigger event) and ``server`` (the server facts), so the workflow must
declare those two inputs.  Each execution carries a description
``vmr-step <key>`` with a key stable across attempts and leaders: a step
that resumes finds the execution it started instead of starting another.

mistral-api answers without ``x-openstack-request-id``: the execution id
in the result (and in Mistral's engine log) is the step's evidence.
"""

import json
import time

from openstack import resource
from openstack.workflow.v2 import execution as sdk_execution

from vmr_coordinator.actions import base, evidence

FINAL = ('SUCCESS', 'ERROR', 'CANCELLED')
DESCRIPTION = 'vmr-step %s'


class _StepExecution(sdk_execution.Execution):
    """An execution listed by Mistral's own filters.

    openstacksdk's Execution sends none of ``workflow_id`` and
    ``description`` to Mistral: it would list every execution of the
    project (page by page past ``[api] max_limit``, 1000) and filter them
    itself.  Mistral's ``GET /v2/executions`` filters on both.
    """

    _query_mapping = resource.QueryParameters(
        'marker', 'limit', 'sort_keys', 'sort_dirs', 'fields', 'params',
        'include_output', 'workflow_id', 'description')


class Mistral(evidence.RecordedAction):
    """Start a workflow execution; with ``wait`` (default), wait for it.

    Goal: an execution of ``workflow`` for this step exists and, with
    ``wait``, reached SUCCESS within ``timeout``.  ERROR or CANCELLED
    raise :class:`base.ActionError` with the execution's ``state_info``;
    a timeout raises :class:`base.RetryableError`, and the retry waits for
    the same execution.  Whether the host must be fenced first is the
    contract's call (``needs_fence``, default true): VMR cannot know what
    the workflow does.
    """

    name = 'mistral'

    @property
    def needs_fence(self):
        return bool(self.params.get('needs_fence', True))

    def heal(self, ctx):
        workflow_api = ctx.conn.workflow
        ref = self.params['workflow']
        workflow = base.call(workflow_api.find_workflow, ref,
                             ignore_missing=True)
        if workflow is None:
            raise base.ActionError('Mistral workflow %r not found (check the '
                                   'contract\'s workflow)' % ref)
        description = DESCRIPTION % evidence.step_key(ctx, 'mistral',
                                                      workflow.id)
        execution = self._existing(workflow_api, workflow, description)
        started = execution is None
        if started:
            inputs = dict(self.params.get('input') or {})
            inputs['event'] = ctx.event
            inputs['server'] = evidence.server_document(ctx.server)
            execution = base.call(
                workflow_api.create_execution, workflow_id=workflow.id,
                input=json.loads(json.dumps(inputs, default=str)),
                description=description)
        verb = 'started' if started else 'found'
        if not self.params.get('wait', True):
            return '%s execution %s of %s (%s, not waiting)' % (
                verb, execution.id, workflow.name, execution.status)
        timeout = float(self.params.get('timeout', 600))
        until = min(ctx.deadline, time.monotonic() + timeout)
        wait_ctx = base.ActionContext(ctx.conn, ctx.server, ctx.host,
                                      ctx.event, until, ctx.poll)
        execution = self.wait(
            wait_ctx, lambda: self._final(workflow_api, execution.id),
            'Mistral execution %s of %s' % (execution.id, workflow.name))
        if execution.status != 'SUCCESS':
            raise base.ActionError(
                'Mistral execution %s of %s ended %s: %s'
                % (execution.id, workflow.name, execution.status,
                   (execution.status_info or 'no state_info').strip()))
        return '%s execution %s of %s: SUCCESS' % (verb, execution.id,
                                                   workflow.name)

    @staticmethod
    def _existing(workflow_api, workflow, description):
        found = base.call(lambda: list(_StepExecution.list(
            workflow_api, workflow_id=workflow.id, description=description)))
        found.sort(key=lambda e: e.created_at or '')
        return found[-1] if found else None

    @staticmethod
    def _final(workflow_api, execution_id):
        execution = base.call(workflow_api.get_execution, execution_id)
        return execution if execution.status in FINAL else None
