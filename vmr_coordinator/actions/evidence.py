"""Evidence operators can grep: the request ids of what an action changed.

DESIGN §7b asks for the ``x-openstack-request-id`` of every Nova, Neutron
and Octavia call in the journal step.  openstacksdk resources do not keep
the HTTP response they were built from, so the ids are taken where every
call passes: a ``requests`` response hook on the Connection's session.
The engine runs many steps at once over one Connection, so the hook writes
into a *thread-local* sink that only the action running in that thread has
opened; ids of other threads never mix in.

Only calls that change something (any method but GET/HEAD) and reads the
service failed (5xx, 429) are kept: the polling GETs of a wait are noise.
"""

import contextlib
import hashlib
import json
import threading

from vmr_coordinator.actions import base

_local = threading.local()
_hooked_lock = threading.Lock()
_HOOK_MARK = '_vmr_request_id_hook'
_READS = ('GET', 'HEAD')


def _response_hook(response, *args, **kwargs):
    sink = getattr(_local, 'sink', None)
    if sink is None:
        return response
    method = getattr(response.request, 'method', '') or ''
    url = getattr(response.request, 'url', '') or ''
    if url.split('?')[0].rstrip('/').endswith('/auth/tokens'):
        # Keystone issuing the session's token changes nothing of the
        # cloud: its id would only be mistaken for the first call's.
        return response
    if method.upper() in _READS and response.status_code < 500 and \
            response.status_code != 429:
        # Reads (the polling of every wait, the expected 404 of a deleted
        # server) are noise; a failing service is evidence.
        return response
    rid = response.headers.get('x-openstack-request-id') or \
        response.headers.get('x-compute-request-id')
    if rid and rid not in sink:
        sink.append(rid)
    return response


def _install(conn):
    """Add the hook once to the ``requests.Session`` behind ``conn``."""
    session = getattr(getattr(conn, 'session', None), 'session', None)
    hooks = getattr(session, 'hooks', None)
    if hooks is None:
        return False
    with _hooked_lock:
        if not getattr(session, _HOOK_MARK, False):
            hooks.setdefault('response', []).append(_response_hook)
            setattr(session, _HOOK_MARK, True)
    return True


@contextlib.contextmanager
def collect(conn, sink):
    """Append the request ids of this thread's changing calls to ``sink``."""
    _install(conn)
    previous = getattr(_local, 'sink', None)
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


def annotate(text, request_ids):
    """``text`` followed by the request ids, if any."""
    if not request_ids:
        return text
    return '%s [request ids: %s]' % (text, ', '.join(request_ids))


class RecordedAction(base.Action):
    """An action whose ``run`` records request ids around :meth:`heal`.

    After ``run`` (successful or not) ``self.request_ids`` lists the ids of
    the calls that changed something; the result text and the error message
    end with them too, so the journal keeps them even where it stores only
    text.
    """

    request_ids = ()

    def heal(self, ctx):
        """Reach the goal; return a short result text (see ``run``)."""
        raise NotImplementedError

    def run(self, ctx):
        self.request_ids = []
        try:
            with collect(ctx.conn, self.request_ids):
                text = self.heal(ctx)
        except base.ActionError as exc:
            if not self.request_ids:
                raise
            again = type(exc)(annotate(str(exc), self.request_ids))
            # what the error says besides its text (a NotNow's retry_in)
            again.__dict__.update(exc.__dict__)
            raise again from exc
        return annotate(text, self.request_ids)


def server_document(server):
    """The server facts as a JSON-serialisable dict."""
    if hasattr(server, 'to_dict'):
        return server.to_dict()
    return {k: v for k, v in vars(server).items() if not k.startswith('_')}


def step_key(ctx, *parts):
    """A stable id of "this action for this server and this event".

    The same on every attempt and on every leader (the event comes from the
    journal), so a side effect outside OpenStack's own state -- a workflow
    execution, a webhook delivery -- can be recognised when a step resumes.
    """
    doc = json.dumps([ctx.event, getattr(ctx.server, 'id', None),
                      ctx.host] + list(parts), sort_keys=True, default=str)
    return hashlib.sha256(doc.encode('utf-8')).hexdigest()[:32]
