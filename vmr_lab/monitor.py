"""The invariant monitor: catches unsafe recoveries in the lab.

It watches the simulated hypervisors, not the APIs: every time a server
starts or stops running on a host it records an interval, and it checks
the safety rules a healer must never break:

* ``double_run`` -- a server runs on two hosts at the same moment;
* ``moved_while_running`` -- a server is evacuated, rebuilt elsewhere or
  replaced while its old host may still run it.  A host that is powered on
  (even hung or partitioned) *may* still run its VMs: only power-off proves
  they stopped;
  A boot counts as a replacement when its image is a snapshot of a server
  whose compute service is down, or when its metadata names the old server
  (``vmr_replaces``, as VMR's boot_from_snapshot sets it, or
  ``vmr_lab:replaces``);
* ``lost`` -- at :meth:`InvariantMonitor.end_scenario`, a server that is
  neither running on a healthy host nor deliberately stopped or deleted.

Whether a host was fenced before VMR acted is VMR's own check (its journal
holds the fencing evidence); the monitor judges outcomes only.
"""

import threading
import time


class InvariantMonitor:
    """Records server run intervals and reports safety violations."""

    def __init__(self, lab, events=None):
        self.lab = lab
        self.events = events
        self._lock = threading.RLock()
        self._open = {}        # (server_id, host) -> start time
        self._intervals = []   # {'server', 'host', 'start', 'end'}
        self._violations = []

    # -- fed by the simulated hosts and Nova ----------------------------------
    def server_started(self, server_id, host):
        """``server_id`` starts running on ``host``."""
        now = time.time()
        with self._lock:
            others = [h for (s, h) in self._open if s == server_id and h != host]
            self._open.setdefault((server_id, host), now)
            for other in others:
                self._violate('double_run', server_id,
                              'server %s started on %s while still running '
                              'on %s' % (server_id, host, other),
                              hosts=[other, host])

    def server_stopped(self, server_id, host):
        """``server_id`` stops running on ``host``."""
        now = time.time()
        with self._lock:
            start = self._open.pop((server_id, host), None)
            if start is not None:
                self._intervals.append({'server': server_id, 'host': host,
                                        'start': start, 'end': now})

    def server_moved(self, server_id, old_host, new_host, action):
        """Nova accepted ``action`` moving ``server_id`` off ``old_host``.

        Safe only if ``old_host`` cannot still run it (powered off).
        """
        host = self.lab.hosts.get(old_host)
        if host is not None and host.possibly_running(server_id):
            self._violate('moved_while_running', server_id,
                          '%s of server %s to %s accepted while %s may still '
                          'run it (%s)' % (action, server_id, new_host or
                                           'a scheduler-chosen host', old_host,
                                           host.describe_state()),
                          hosts=[old_host], action=action)

    def server_replaced(self, old_id, new_id):
        """A new server ``new_id`` replaces ``old_id`` (boot from snapshot)."""
        for host in self.lab.hosts.values():
            if host.possibly_running(old_id):
                self._violate('moved_while_running', old_id,
                              'server %s replaced by %s while %s may still '
                              'run it (%s)' % (old_id, new_id, host.name,
                                               host.describe_state()),
                              hosts=[host.name], action='replace',
                              replacement=new_id)

    def end_scenario(self):
        """Final check: report every lost server; return all violations."""
        for server in self.lab.find_servers():
            if server.get('deliberately_stopped'):
                continue
            if self.lab.server_running(server['id']):
                continue
            self._violate('lost', server['id'],
                          'server %s (%s) is neither running nor deliberately '
                          'stopped: status %s on host %s'
                          % (server['id'], server['name'], server['status'],
                             server['host']), hosts=[server['host']])
        return self.violations()

    # -- reading --------------------------------------------------------------
    def violations(self):
        """Every violation so far (list of dicts, oldest first)."""
        with self._lock:
            return [dict(v) for v in self._violations]

    def intervals(self, server_id=None):
        """Closed and open run intervals (``end`` None while running)."""
        with self._lock:
            rows = [dict(i) for i in self._intervals]
            rows += [{'server': s, 'host': h, 'start': t, 'end': None}
                     for (s, h), t in self._open.items()]
        if server_id is not None:
            rows = [r for r in rows if r['server'] == server_id]
        return sorted(rows, key=lambda r: r['start'])

    def reset(self):
        """Forget violations (intervals are kept): between test phases."""
        with self._lock:
            self._violations = []

    def _violate(self, kind, server_id, message, **extra):
        violation = dict(extra, type=kind, server=server_id, message=message,
                         time=time.time())
        with self._lock:
            # One report per (kind, server, hosts): a loop re-detecting the
            # same problem must not drown the real ones.
            for old in self._violations:
                if (old['type'], old['server'], old.get('hosts')) == (
                        kind, server_id, extra.get('hosts')):
                    return
            self._violations.append(violation)
        if self.events is not None:
            self.events.add('violation', server=server_id, kind=kind,
                            detail=message)
