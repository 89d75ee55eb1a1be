"""``manual``: an operator asked for a recovery by hand."""

from collections.abc import Mapping

from vmr_coordinator.triggers.base import Trigger, TriggerEventError


class Manual(Trigger):
    """A recovery requested with ``vmr recover``.

    Event: ``{'type': 'manual', 'servers': [ids or names]}`` and/or
    ``{'host': 'compute-3'}``, usually with ``'contract': NAME`` (the API's
    ``POST /v1/recoveries`` always sets it): then only that contract heals
    them. Affects the named servers and the servers on the named host.
    """

    type = 'manual'
    sources = ('api-request',)

    def validate_event(self, event):
        super().validate_event(event)
        servers = event.get('servers', [])
        host = event.get('host')
        if not isinstance(servers, (list, tuple)) or not all(
                isinstance(s, str) and s for s in servers):
            raise TriggerEventError(
                f'manual event field "servers" must be a list of server ids or names, '
                f'got {servers!r}')
        if host is not None and not (isinstance(host, str) and host):
            raise TriggerEventError(f'manual event field "host" must be a host name, '
                                    f'got {host!r}')
        contract = event.get('contract')
        if contract is not None and not (isinstance(contract, str) and contract):
            raise TriggerEventError(f'manual event field "contract" must be a contract '
                                    f'name, got {contract!r}')
        if not servers and not host:
            raise TriggerEventError('manual event names nothing: give "servers" or "host"')

    def affects(self, event: Mapping, server):
        named = event.get('servers') or ()
        if getattr(server, 'id', None) in named or getattr(server, 'name', None) in named:
            return True
        return super().affects(event, server)

    def describe(self, event):
        parts = []
        if event.get('servers'):
            count = len(event['servers'])
            parts.append(f'{count} server{"s" if count != 1 else ""}')
        if event.get('host'):
            parts.append(f'host {event["host"]}')
        who = f' by {event["requested_by"]}' if event.get('requested_by') else ''
        how = f' with contract {event["contract"]}' if event.get('contract') else ''
        return f'manual recovery of {" and ".join(parts) or "nothing"}{how}{who}'
