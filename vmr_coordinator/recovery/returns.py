"""Stage 5: the fenced host comes back with a new boot id: un-force and
enable its Nova service once it reports, restore its standbys.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging

from vmr_coordinator import journal as journal_mod
from vmr_coordinator.actions import evidence
from vmr_coordinator.detection import HostState
from vmr_coordinator.journal import RecoveryState
from vmr_coordinator.recovery import decide

LOG = logging.getLogger(__name__)


class Returns:
    """The return of a fenced host of the recovery engine (mixed into ``Recovery``)."""

    # -- 5. the host returns --------------------------------------------------
    def _welcome_back(self, host, rid, record):
        from vmr_coordinator.fencing.base import FenceTarget, fencer_class, load_fencer
        detail = 'host returned with a new boot id'
        try:
            profile = self.profiles().profile_for(host)
        except Exception:  # no profiles: nothing to undo in Nova
            profile = None
        for rung in (profile.post if profile else []):
            cls = fencer_class(rung.driver)
            if cls is None or not cls.undone_on_return:
                continue
            fencer = load_fencer(rung.driver, rung.options, self.conf,
                                 context=profile.context(rung))
            result = fencer.unfence(FenceTarget(
                host=host, record=record, now=self.clock(), cloud=self.conn,
                absent_since=record.get('suspect_since')))
            if rid and (result.verified or result.request_ids):
                # What was changed in Nova, with the request ids, belongs to
                # the recovery's story too, not only to the host record.
                self._journal_unfence(rid, result)
            if not result.verified:
                # Nova has not seen nova-compute up yet: try next cycle,
                # saying so once (and again only when the reason changes).
                why = result.error or result.evidence
                if self._return_waits.get(host) != why:
                    self._return_waits[host] = why
                    LOG.info('host %s returned; waiting for nova-compute '
                             '(tried every cycle, said once): %s', host, why)
                return
            detail = result.evidence
        restored = self._restore_standbys(host, rid)
        if restored:
            detail += '; standby restored: %s' % ', '.join(restored)
        self._return_waits.pop(host, None)
        self._set_host(host, {'state': HostState.UP,
                              'state_since': self.clock(), 'recovery': None,
                              'reason': 'returned: %s' % detail,
                              'suspect_since': None, 'fenced_at': None})
        if rid:
            self.journal.release_lock(host, rid)

    def _journal_unfence(self, rid, result):
        now = self.clock()

        def mutate(r):
            r.setdefault('unfence', []).append(dict(result.to_dict(), at=now))
            journal_mod.add_event(r, now, 'nova service restored'
                                  if result.verified else 'nova service',
                                  evidence.annotate(
                                      result.summary(), result.request_ids))
        self.journal.update(rid, mutate)

    def _close_blocked(self, host, rid):
        """The blocked ``host`` is back before any fence was proven:
        nothing was restarted elsewhere (planning waits for the fence), so
        its record closes and the host is simply up again."""
        now = self.clock()
        if rid:
            def mutate(r):
                if r.get('state') != RecoveryState.BLOCKED or r.get('steps'):
                    return False
                r['state'] = RecoveryState.FAILED
                journal_mod.add_event(
                    r, now, 'failed', 'the host came back before a fence '
                    'was proven; nothing was restarted elsewhere')
            self.journal.update(rid, mutate)
            self.journal.release_lock(host, rid)
        self._set_host(host, {'state': HostState.UP, 'state_since': now,
                              'recovery': None, 'suspect_since': None,
                              'reason': 'returned while its fence was '
                                        'blocked; recovery %s closed' % rid})
        LOG.warning('host %s returned while blocked: recovery %s closed',
                    host, rid)

    def _restore_standbys(self, host, rid):
        """Start the pair members left on the returned host.

        ``fip_failover`` made them standbys (their partner holds the
        floating IP now); Nova brings them back SHUTOFF after the reboot,
        and a pair without a running standby has no second chance.  A pair
        member is recognised by the metadata keys the contracts configure
        (``pair_metadata_key``, ``role_key``), not by fixed names.
        """
        from vmr_coordinator import cloud
        restored = []
        record = None
        if rid:
            record = self.journal.read(rid)
        keys = decide.standby_keys(self._stored_contracts(), record)
        if not keys:
            return restored   # no contract makes pairs
        try:
            servers = cloud.servers_on_host(self.conn, host)
        except Exception as exc:  # the host is up again either way
            LOG.warning('standbys of %s not checked: %s', host, exc)
            return restored
        for server in servers:
            meta = server.metadata or {}
            pair = next((meta[p] for p, r in keys
                         if meta.get(p) and meta.get(r) == 'standby'), None)
            if pair is None or server.status != 'SHUTOFF':
                continue
            try:
                self.conn.compute.start_server(server)
            except Exception as exc:  # leave it to the operator, say so
                LOG.warning('standby %s of pair %s not started: %s',
                            server.name, pair, exc)
                continue
            restored.append('%s (pair %s)' % (server.name, pair))
        if restored and rid:
            def mutate(r):
                journal_mod.add_event(r, self.clock(), 'standby restored',
                                      ', '.join(restored))
            self.journal.update(rid, mutate)
        return restored
