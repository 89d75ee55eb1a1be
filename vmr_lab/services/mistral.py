"""Mistral v2 simulator: workflows and executions.

Enough for openstacksdk's ``conn.workflow`` proxy and VMR's ``mistral``
action: workflows are created from a v2 DSL YAML text (``text/plain``, as
Mistral takes it), executions record their input and go ``RUNNING`` →
``SUCCESS`` after ``execution_delay`` seconds.  An execution fails (state
``ERROR`` with a ``state_info``) on demand, the way an operator would make a
real one fail:

* a task of the workflow runs the ``std.fail`` action;
* the workflow's name contains ``fail``;
* the input has ``lab_fail: true`` (accepted even when the workflow does not
  declare it, so any workflow can be made to fail).

As in Mistral, ``input``, ``output`` and ``params`` are JSON *strings* in
responses, the input is checked against the workflow's declared inputs
(400 on missing or unexpected ones), and errors are WSME bodies
``{"faultstring": ..., "faultcode": "Client", "debuginfo": null}``.

Tunable: ``lab.delays['workflow_execution']`` (seconds an execution stays
``RUNNING``, default 0.3) or the ``execution_delay`` attribute.
"""

import copy
import json
import time
import uuid

import yaml

from vmr_lab.services.base import Fault, Service

STATES = ('IDLE', 'RUNNING', 'SUCCESS', 'ERROR', 'PAUSED', 'CANCELLED')
FAIL_INPUT = 'lab_fail'


def _now():
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())


def _parse_inputs(spec):
    """Declared inputs of a workflow: ({name: default}, [required names])."""
    declared, required = {}, []
    for item in spec.get('input') or []:
        if isinstance(item, dict):
            for name, default in item.items():
                declared[name] = default
        else:
            declared[str(item)] = None
            required.append(str(item))
    return declared, required


def _input_text(spec):
    parts = []
    for item in spec.get('input') or []:
        if isinstance(item, dict):
            parts.extend('%s=%s' % (k, json.dumps(v)) for k, v in item.items())
        else:
            parts.append(str(item))
    return ', '.join(parts)


def _parse_definition(text):
    """The workflows a v2 DSL document defines: {name: spec}."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Fault(400, 'Invalid DSL: %s' % str(exc).replace('\n', ' '))
    if not isinstance(doc, dict):
        raise Fault(400, 'Invalid DSL: definition must be a YAML mapping')
    if str(doc.get('version')) != '2.0':
        raise Fault(400, "Invalid DSL: Unsupported DSL version: %r; "
                         "'version' must be '2.0'" % doc.get('version'))
    workflows = {}
    for name, spec in doc.items():
        if name in ('version', 'name', 'description'):
            continue
        if not isinstance(spec, dict):
            raise Fault(400, 'Invalid DSL: workflow %s must be a mapping'
                        % name)
        if spec.get('type', 'direct') not in ('direct', 'reverse'):
            raise Fault(400, "Invalid DSL: %r is not one of ['direct', "
                             "'reverse']" % spec.get('type'))
        tasks = spec.get('tasks')
        if not isinstance(tasks, dict) or not tasks:
            raise Fault(400, "Invalid DSL: 'tasks' is a required property "
                             "of workflow %s" % name)
        workflows[str(name)] = spec
    if not workflows:
        raise Fault(400, 'Invalid DSL: the definition contains no workflow')
    return workflows


class MistralAPI(Service):
    """The Mistral v2 API of the lab, served on its own port."""

    service_type = 'workflowv2'
    name = 'mistral'
    endpoint_path = '/v2'
    # mistral-api has no request id middleware: its answers carry no
    # x-openstack-request-id (its log lines have one of their own).
    sends_request_id = False

    def __init__(self, lab):
        self.workflows = {}
        self.executions = {}
        self.execution_delay = float(
            getattr(lab, 'delays', {}).get('workflow_execution', 0.3))
        super().__init__(lab)

    # -- state -----------------------------------------------------------
    def snapshot(self):
        """Workflows and executions as a JSON-serialisable dict."""
        with self.lock:
            return copy.deepcopy({'workflows': self.workflows,
                                  'executions': self.executions})

    def restore(self, state):
        """Replace the state with one returned by :meth:`snapshot`."""
        state = copy.deepcopy(state)
        with self.lock:
            self.workflows = state['workflows']
            self.executions = state['executions']

    def _settle(self):
        now = time.time()
        for execution in self.executions.values():
            if execution['state'] == 'RUNNING' \
                    and now >= execution['_lab']['done_at']:
                outcome = execution['_lab']['outcome']
                execution['state'] = outcome['state']
                execution['state_info'] = outcome['state_info']
                execution['output'] = outcome['output']
                execution['updated_at'] = _now()

    # -- WSGI plumbing ---------------------------------------------------
    def malformed_input(self, exc):
        # Malformed input the checks missed: 400, never a 500.
        return Fault(400, 'Invalid input: %s' % exc)

    def fault_body(self, fault):
        return {'faultstring': fault.message,
                'faultcode': 'Client' if fault.status < 500 else 'Server',
                'debuginfo': None}

    def setup_routes(self):
        self.route('GET', '/', self.versions, public=True)
        self.route('GET', '/v2', self.v2_root, public=True)
        self.route('GET', '/v2/workflows', self.list_workflows)
        self.route('POST', '/v2/workflows', self.create_workflows)
        self.route('PUT', '/v2/workflows', self.update_workflows)
        self.route('GET', '/v2/workflows/{identifier}', self.show_workflow)
        self.route('DELETE', '/v2/workflows/{identifier}',
                   self.delete_workflow)
        self.route('GET', '/v2/executions', self.list_executions)
        self.route('POST', '/v2/executions', self.create_execution)
        self.route('GET', '/v2/executions/{execution_id}',
                   self.show_execution)
        self.route('PUT', '/v2/executions/{execution_id}',
                   self.update_execution)
        self.route('DELETE', '/v2/executions/{execution_id}',
                   self.delete_execution)

    def versions(self, req, ctx):
        """Version discovery at the root, as mistral-api answers it."""
        return 200, {'versions': [{
            'id': 'v2.0', 'status': 'CURRENT',
            'links': [{'href': req.host_url + '/v2', 'target': 'v2',
                       'rel': 'self'}]}]}

    def v2_root(self, req, ctx):
        """``GET /v2``: what mistral-api answers there."""
        return 200, {'uri': req.host_url + '/v2'}

    # -- workflows -------------------------------------------------------
    @staticmethod
    def _visible(ctx, obj):
        return ctx is None or ctx.is_admin or obj['scope'] == 'public' \
            or obj['project_id'] == ctx.project_id

    def _find_workflow(self, ctx, identifier):
        found = self.workflows.get(identifier)
        if found is None:
            # By name: the caller's own workflow first, then a public one.
            named = [w for w in self.workflows.values()
                     if w['name'] == identifier and self._visible(ctx, w)]
            own = [w for w in named
                   if ctx is None or w['project_id'] == ctx.project_id]
            found = (own or named or [None])[0]
        if found is None or not self._visible(ctx, found):
            raise Fault(404, 'Workflow not found [workflow_identifier=%s, '
                             'namespace=]' % identifier)
        return found

    @staticmethod
    def _definition_text(req):
        text = req.body.decode('utf-8', 'replace') if req.body else ''
        if not text.strip():
            raise Fault(400, 'Invalid DSL: the workflow definition is empty')
        return text

    def _scope(self, req):
        scope = req.GET.get('scope', 'private')
        if scope not in ('private', 'public'):
            # Also what openstacksdk hits when no scope is given (it sends
            # ?scope=None): real Mistral refuses it the same way.
            raise Fault(400, "Scope must be one of the following: "
                             "('private', 'public'); actual: %s" % scope)
        return scope

    @staticmethod
    def _view_workflow(workflow):
        return {k: v for k, v in workflow.items() if not k.startswith('_')}

    def create_workflows(self, req, ctx):
        """``POST /v2/workflows``: a DSL text defining one or more workflows."""
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy doesn\'t allow workflows:create to be '
                             'performed.')
        text = self._definition_text(req)
        scope = self._scope(req)
        specs = _parse_definition(text)
        project = ctx.project_id if ctx is not None else 'admin'
        with self.lock:
            for name in specs:
                for other in self.workflows.values():
                    if other['name'] == name and other['project_id'] == project:
                        raise Fault(409, "Duplicate entry for "
                                         "WorkflowDefinition ['name', "
                                         "'namespace', 'project_id']: %s, , %s"
                                    % (name, project))
            created = []
            for name, spec in specs.items():
                workflow = {
                    'id': str(uuid.uuid4()), 'name': name, 'namespace': '',
                    'input': _input_text(spec), 'definition': text,
                    'tags': list(spec.get('tags') or []), 'scope': scope,
                    'project_id': project, 'created_at': _now(),
                    'updated_at': None,
                    'interface': {'input': spec.get('input') or [],
                                  'output': list(spec.get('output') or {})},
                    '_spec': spec}
                self.workflows[workflow['id']] = workflow
                created.append(self._view_workflow(workflow))
        return 201, {'workflows': created}

    def update_workflows(self, req, ctx):
        """``PUT /v2/workflows``: redefine existing workflows by name."""
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy doesn\'t allow workflows:update to be '
                             'performed.')
        text = self._definition_text(req)
        scope = self._scope(req)
        specs = _parse_definition(text)
        with self.lock:
            updated = []
            for name, spec in specs.items():
                workflow = self._find_workflow(ctx, name)
                workflow.update({'definition': text, 'scope': scope,
                                 'input': _input_text(spec),
                                 'tags': list(spec.get('tags') or []),
                                 'updated_at': _now(), '_spec': spec})
                updated.append(self._view_workflow(workflow))
        return 200, {'workflows': updated}

    def list_workflows(self, req, ctx):
        """``GET /v2/workflows``."""
        with self.lock:
            items = [self._view_workflow(w) for w in self.workflows.values()
                     if self._visible(ctx, w)]
        for key in ('name', 'scope', 'project_id'):
            if key in req.GET:
                items = [w for w in items if w[key] == req.GET[key]]
        return 200, self._page(req, 'workflows', items)

    def _page(self, req, key, items):
        items.sort(key=lambda x: x['created_at'])
        marker = req.GET.get('marker')
        if marker:
            ids = [x['id'] for x in items]
            if marker in ids:
                items = items[ids.index(marker) + 1:]
        limit = req.GET.get('limit')
        if limit:
            try:
                items = items[:int(limit)]
            except ValueError:
                raise Fault(400, 'Limit must be positive integer.')
        return {key: items}

    def show_workflow(self, req, ctx, identifier):
        """``GET /v2/workflows/{id or name}``."""
        with self.lock:
            return 200, self._view_workflow(
                self._find_workflow(ctx, identifier))

    def delete_workflow(self, req, ctx, identifier):
        """``DELETE /v2/workflows/{id or name}``."""
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy doesn\'t allow workflows:delete to be '
                             'performed.')
        with self.lock:
            workflow = self._find_workflow(ctx, identifier)
            if ctx is not None and not ctx.is_admin \
                    and workflow['project_id'] != ctx.project_id:
                raise Fault(403, 'Can not modify a public workflow of another'
                                 ' project.')
            running = [e for e in self.executions.values()
                       if e['workflow_id'] == workflow['id']
                       and e['state'] == 'RUNNING']
            if running:
                raise Fault(409, "Can't delete workflow that has running "
                                 "executions [workflow_name=%s]"
                            % workflow['name'])
            del self.workflows[workflow['id']]
        return 204, None

    # -- executions ------------------------------------------------------
    @staticmethod
    def _json_field(body, field):
        value = body.get(field)
        if value in (None, ''):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise Fault(400, '%s must be valid JSON [actual=%s]'
                            % (field, value))
        if not isinstance(value, dict):
            raise Fault(400, 'JsonType field value must be a dictionary '
                             '[actual=%s]' % value)
        return value

    @staticmethod
    def _outcome(workflow, inputs):
        spec = workflow['_spec']
        failing_task, error_data = None, None
        for task_name, task in spec['tasks'].items():
            if isinstance(task, dict) and str(task.get('action', '')) \
                    .split()[0:1] == ['std.fail']:
                failing_task = task_name
                task_input = task.get('input')
                if isinstance(task_input, dict):
                    error_data = task_input.get('error_data')
                break
        fail_input = inputs.get(FAIL_INPUT) in (True, 'true', 'True', 1)
        if failing_task is None and (fail_input
                                     or 'fail' in workflow['name'].lower()):
            failing_task = next(iter(spec['tasks']))
        if failing_task is not None:
            action_ex_id = uuid.uuid4()
            # Mistral 23's words: std.fail's error_data as it is, else the
            # exception the action raised.
            error = error_data or (
                "The action raised an exception [action=Fail action, "
                "action_ex_id=%s, msg='Fail action expected exception.']"
                % action_ex_id)
            return {'state': 'ERROR', 'output': json.dumps({
                'result': 'Failure caused by error in tasks: %s'
                          % failing_task}),
                    'state_info': 'Failure caused by error in tasks: %s\n\n'
                                  '  %s [task_ex_id=%s] -> %s\n'
                                  '    [action_ex_id=%s, idx=0]: %s\n'
                                  % (failing_task, failing_task,
                                     uuid.uuid4(), error, action_ex_id,
                                     error)}
        outputs = spec.get('output') or {}
        output = {k: inputs.get(k, v) if isinstance(v, str) else v
                  for k, v in outputs.items()} if isinstance(outputs, dict) \
            else {}
        return {'state': 'SUCCESS', 'state_info': None,
                'output': json.dumps(output)}

    def create_execution(self, req, ctx):
        """``POST /v2/executions``: RUNNING, then SUCCESS or ERROR."""
        if ctx is not None and not ctx.can_write:
            raise Fault(403, 'Policy doesn\'t allow executions:create to be '
                             'performed.')
        body = self.json_body(req)
        known = ('workflow_id', 'workflow_name', 'workflow_identifier',
                 'workflow_namespace', 'description', 'input', 'params',
                 'id', 'source_execution_id', 'task_execution_id')
        for key, value in body.items():
            if key not in known:
                raise Fault(400, 'Unknown attribute for argument execution: '
                                 '%s' % key)
            if key not in ('input', 'params') and value is not None \
                    and not isinstance(value, str):
                raise Fault(400, "Invalid input for field/attribute %s. "
                                 "Value: '%s'. Wrong type. Expected '<class "
                                 "'str'>', got '%s'" % (key, value,
                                                        type(value)))
        identifier = body.get('workflow_id') or body.get('workflow_name') \
            or body.get('workflow_identifier')
        if not identifier:
            raise Fault(400, 'Workflow ID or workflow identifier must be '
                             'provided.')
        inputs = self._json_field(body, 'input')
        params = self._json_field(body, 'params')
        with self.lock:
            self._settle()
            workflow = self._find_workflow(ctx, identifier)
            declared, required = _parse_inputs(workflow['_spec'])
            missing = [name for name in required if name not in inputs]
            unexpected = [name for name in inputs if name not in declared
                          and name != FAIL_INPUT]
            if missing or unexpected:
                detail = []
                if missing:
                    detail.append('missing=%s' % missing)
                if unexpected:
                    detail.append('unexpected=%s' % unexpected)
                raise Fault(400, 'Invalid input [name=%s, class=WorkflowSpecV2'
                                 ', %s]' % (workflow['name'],
                                            ', '.join(detail)))
            full_input = {name: inputs.get(name, default)
                          for name, default in declared.items()}
            if FAIL_INPUT in inputs:
                full_input[FAIL_INPUT] = inputs[FAIL_INPUT]
            params.setdefault('namespace', '')
            execution_id = str(uuid.uuid4())
            execution = {
                'id': execution_id, 'workflow_id': workflow['id'],
                'workflow_name': workflow['name'], 'workflow_namespace': '',
                'description': body.get('description', ''),
                'params': json.dumps(params),
                'task_execution_id': None,
                'root_execution_id': None, 'source_execution_id': None,
                'state': 'RUNNING', 'state_info': None,
                'input': json.dumps(full_input), 'output': '{}',
                'published_global': '{}',
                'project_id': ctx.project_id if ctx is not None else 'admin',
                'created_at': _now(), 'updated_at': _now(),
                '_lab': {'done_at': time.time() + self.execution_delay,
                         'outcome': self._outcome(workflow, full_input)}}
            self.executions[execution_id] = execution
            if self.execution_delay <= 0:
                self._settle()
            return 201, self._view_execution(execution)

    @staticmethod
    def _view_execution(execution):
        return {k: v for k, v in execution.items() if not k.startswith('_')}

    def _get_execution(self, ctx, execution_id):
        execution = self.executions.get(execution_id)
        if execution is None or not (
                ctx is None or ctx.is_admin
                or execution['project_id'] == ctx.project_id):
            raise Fault(404, 'Object not found [id=%s, class=WorkflowExecution'
                             ']' % execution_id)
        return execution

    def list_executions(self, req, ctx):
        """``GET /v2/executions`` (output only on request)."""
        with self.lock:
            self._settle()
            items = [self._view_execution(e)
                     for e in self.executions.values()
                     if ctx is None or ctx.is_admin
                     or e['project_id'] == ctx.project_id]
        for key in ('workflow_name', 'workflow_id', 'state', 'description'):
            if key in req.GET:
                items = [e for e in items if e[key] == req.GET[key]]
        if req.GET.get('include_output', '').lower() != 'true':
            for item in items:
                item.pop('output', None)
        return 200, self._page(req, 'executions', items)

    def show_execution(self, req, ctx, execution_id):
        """``GET /v2/executions/{id}``."""
        with self.lock:
            self._settle()
            return 200, self._view_execution(
                self._get_execution(ctx, execution_id))

    def update_execution(self, req, ctx, execution_id):
        """``PUT /v2/executions/{id}``: cancel, pause, resume, describe."""
        body = self.json_body(req)
        with self.lock:
            self._settle()
            execution = self._get_execution(ctx, execution_id)
            state = body.get('state')
            if state is not None:
                if state not in STATES:
                    raise Fault(400, 'Invalid state: %s' % state)
                if execution['state'] in ('SUCCESS', 'ERROR', 'CANCELLED'):
                    raise Fault(400, 'Workflow execution %s is already in a '
                                     'final state %s' % (execution_id,
                                                         execution['state']))
                if state == 'RUNNING' and execution['state'] == 'PAUSED':
                    execution['_lab']['done_at'] = time.time() \
                        + self.execution_delay
                execution['state'] = state
                execution['state_info'] = body.get('state_info')
            if 'description' in body:
                execution['description'] = body['description']
            execution['updated_at'] = _now()
            return 200, self._view_execution(execution)

    def delete_execution(self, req, ctx, execution_id):
        """``DELETE /v2/executions/{id}`` (finished ones)."""
        force = req.GET.get('force', '').lower() == 'true'
        with self.lock:
            self._settle()
            execution = self._get_execution(ctx, execution_id)
            if execution['state'] == 'RUNNING' and not force:
                raise Fault(403, 'Only completed executions can be deleted. '
                                 'Use --force to override this behavior. '
                                 'Execution %s is in RUNNING state.'
                            % execution_id)
            del self.executions[execution_id]
        return 204, None

    # -- for tests and scenarios ---------------------------------------
    def execution_input(self, execution_id):
        """The recorded input of an execution, as a dict."""
        with self.lock:
            return json.loads(self.executions[execution_id]['input'])
