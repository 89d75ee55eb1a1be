"""The engine's housekeeping: the journal's history, the segments'
reserved hosts and the leader's cloud connection, each in the background
on its own period.

A part of :class:`vmr_coordinator.recovery.Recovery`; it uses the
engine's journal, store, pool and connection.
"""

import logging

from vmr_common import exceptions
from vmr_coordinator import journal as journal_mod
from vmr_coordinator import segment_records
from vmr_coordinator import segments as segments_mod
from vmr_coordinator.segment_records import stored_segments

LOG = logging.getLogger(__name__)

#: seconds between two checks that idle reserved hosts are disabled in Nova
RESERVE_CHECK = 30.0
#: seconds between two warm-ups of the leader's cloud connection
WARM_CHECK = 60.0
#: a token expiring within this many seconds is renewed by the warm-up
WARM_RENEW = 600.0


class Upkeep:
    """The housekeeping of the recovery engine (mixed into ``Recovery``)."""

    # -- the history ----------------------------------------------------------
    def _history(self, snap, now):
        """Move the closed records nothing refers to any more out of the
        journal, and keep the history within ``[journal]``'s bounds; both
        in the background, never holding up the cycle."""
        opts = self.conf.journal
        # The Nova poll's hold-down is read from the journal's failed
        # records: they stay at least that long.
        linger = max(opts.archive_after,
                     self.conf.coordinator.instance_down_hold_down)
        closed = journal_mod.archivable(
            snap.journal, {n: r.data for n, r in snap.hosts.items()}, now,
            linger)
        if closed:
            self._submit(('archive',), self._archive_job, closed,
                         snap.journal)
        self._every(opts.prune_interval, ('prune',), self._prune_job)

    def _every(self, period, key, job):
        """Submit ``job`` under ``key`` when it last went more than
        ``period`` seconds ago (or never)."""
        clock = self.monotonic()
        last = self._last_run.get(key)
        if last is not None and clock - last < period:
            return
        if self._submit(key, job):
            self._last_run[key] = clock

    def _reserve(self):
        """Every RESERVE_CHECK seconds: keep the segments' idle reserved
        hosts disabled in Nova, so the scheduler keeps them empty."""
        self._every(RESERVE_CHECK, ('reserve',), self._reserve_job)

    # -- the cloud connection ---------------------------------------------------
    def _warm(self):
        """Every WARM_CHECK seconds: keep the leader's cloud connection
        ready, so that the first calls of a heal (the fence's force-down,
        the plan's reads) cost what any call costs."""
        self._every(WARM_CHECK, ('warm',), self._warm_job)

    def _warm_job(self):
        from vmr_coordinator import cloud
        try:
            renewed = cloud.warm_up(self.conn, WARM_RENEW)
        except Exception as exc:  # a heal then pays for it; said once
            if not self._warm_failing:
                LOG.warning('cannot warm up the cloud connection (a heal '
                            'will authenticate and discover the endpoints '
                            'itself): %s', exceptions.first_line(exc))
            self._warm_failing = True
            return
        if renewed is not None:
            LOG.info('cloud connection: token renewed ahead of a heal (it '
                     'had %d s left)', renewed)
        elif self._warm_failing:
            LOG.info('cloud connection warm again')
        self._warm_failing = False

    def _reserve_job(self):
        from vmr_coordinator import cloud
        reserved = sorted({(host, s.name) for s in stored_segments(self.store)
                           if s.enabled for host in s.reserved_hosts})
        for host, segment in reserved:
            try:
                with self._reserve_lock:
                    if host not in segment_records.reserved_in(self.store,
                                                               segment):
                        continue    # used since the list was read
                    changed, said = cloud.keep_reserved(
                        self.conn, host, segments_mod.RESERVED_REASON)
            except Exception as exc:  # tried again at the next check
                LOG.error('reserved host %s of segment %s: %s', host,
                          segment, str(exc).splitlines()[0])
                continue
            if changed:
                LOG.warning('reserved host %s of segment %s: %s', host,
                            segment, said)

    def _archive_job(self, closed, journal):
        moved = [rid for rid, revision in closed
                 if self.journal.archive(rid, journal[rid][0], revision,
                                         self.clock())]
        if moved:
            LOG.info('journal: %d closed recover%s moved to the history: %s',
                     len(moved), 'y' if len(moved) == 1 else 'ies',
                     ', '.join(moved))

    def _prune_job(self):
        opts = self.conf.journal
        deleted = self.journal.prune(self.clock(), opts.history_max_count,
                                     opts.history_max_age * 86400)
        if deleted:
            LOG.info('history: %d closed recover%s deleted (history_max_count '
                     '%d, history_max_age %g days)', deleted,
                     'y' if deleted == 1 else 'ies', opts.history_max_count,
                     opts.history_max_age)
