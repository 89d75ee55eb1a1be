"""[journal] options of vmr-coordinator: how long closed recoveries stay.

A recovery record lives below ``journal/`` while it is open and for
``archive_after`` seconds after it closed; then the leader moves it below
``history/``.  The leader reads ``journal/`` every cycle, never
``history/``, so a cloud's past costs its detection nothing.
"""

from oslo_config import cfg

from vmr_common.conf.groups import group_functions

GROUP = cfg.OptGroup('journal', title='Recovery journal and history')

OPTS = [
    cfg.FloatOpt('archive_after', default=3600.0, min=0.0,
                 help='Seconds a closed recovery (done or failed, its host '
                      'returned) stays in the journal before the leader '
                      'moves it to the history. Never less than '
                      '[coordinator] instance_down_hold_down: the hold-down '
                      'is read from the journal. vmr recovery list shows '
                      'the journal; --all adds the history.'),
    cfg.IntOpt('write_format', default=1, choices=[1, 2],
               help='The shape the leader gives a recovery when it plans '
                    'its steps. 1: the steps inside the recovery record '
                    '(every step update rewrites the whole record: ~65 KB '
                    'at 100 servers). 2: each step in its own key below '
                    'steps/<recovery id>/, so a step update writes that '
                    'step only. Every coordinator of this release reads '
                    'both; set 2 only once no coordinator of an older '
                    'release runs (they read format 1 only). A record '
                    'keeps the format it was planned in.'),
    cfg.IntOpt('history_max_count', default=10000, min=0,
               help='Closed recoveries kept in the history; the oldest '
                    'beyond this are deleted. 0 = no limit by count.'),
    cfg.FloatOpt('history_max_age', default=90.0, min=0.0,
                 help='Days a closed recovery is kept in the history after '
                      'it closed. 0 = no limit by age.'),
    cfg.FloatOpt('prune_interval', default=600.0, min=1.0,
                 help='Seconds between two passes of the leader over the '
                      'history to apply history_max_count and '
                      'history_max_age.'),
]


register_opts, list_opts = group_functions(GROUP, OPTS)
