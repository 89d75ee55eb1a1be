"""Start-up validation of the timing invariants (DESIGN §3).

A configuration that breaks one of these can declare live hosts dead or let
two coordinators act at once, so services refuse to start with it.
"""


class TimingError(Exception):
    """A timing invariant is violated; the message names options and rule."""


def timing_problems(conf, role):
    """Return one sentence per violated invariant for ``role``.

    ``role`` is ``'agent'`` or ``'coordinator'``.
    """
    problems = []
    ttl = conf.heartbeat.ttl
    if conf.heartbeat.interval > ttl / 2:
        problems.append(
            '[heartbeat] interval (%s) must be <= [heartbeat] ttl / 2 (%s): '
            'a single late beat would expire the lease'
            % (conf.heartbeat.interval, ttl / 2))
    if conf.etcd.election_timeout >= ttl:
        problems.append(
            '[etcd] election_timeout (%s) must be < [heartbeat] ttl (%s): an '
            'etcd leader election would expire every agent lease'
            % (conf.etcd.election_timeout, ttl))
    if role == 'coordinator':
        co = conf.coordinator
        if co.period > ttl / 2:
            problems.append(
                '[coordinator] period (%s) must be <= [heartbeat] ttl / 2 '
                '(%s)' % (co.period, ttl / 2))
        if co.leader_margin >= co.leader_ttl / 3:
            problems.append(
                '[coordinator] leader_margin (%s) must be < leader_ttl / 3 '
                '(%s): the leader refreshes every leader_ttl / 3'
                % (co.leader_margin, co.leader_ttl / 3))
        if co.period > co.leader_ttl / 3:
            problems.append(
                '[coordinator] period (%s) must be <= [coordinator] '
                'leader_ttl / 3 (%s): the leader refreshes its key from the '
                'loop' % (co.period, co.leader_ttl / 3))
    return problems


def timing_warnings(conf, role):
    """Sentences about settings that work but weaken a guarantee."""
    warnings = []
    if role == 'coordinator':
        co = conf.coordinator
        window = co.probe_timeout / 2
        if 0 < window < 2 * co.watch_interval:
            warnings.append(
                '[coordinator] watch_interval (%s) is more than half of '
                'probe_timeout / 2 (%s): the leader sends fewer than two '
                'probes per window, so one lost reply can make a live host '
                'look unreachable' % (co.watch_interval, window))
    return warnings


def check_timing(conf, role):
    """Raise :class:`TimingError` with every problem on one line."""
    problems = timing_problems(conf, role)
    if problems:
        raise TimingError('invalid timing configuration: ' + '; '.join(problems))


def agent_problems(conf):
    """One sentence per [agent] setting that would silently do nothing."""
    agent = conf.agent
    problems = []
    if agent.isolation_action == 'stop-instances' and not (
            agent.isolation_command or '').strip():
        problems.append(
            '[agent] isolation_action = stop-instances needs [agent] '
            'isolation_command (the command that stops the local instances, '
            'run without a shell); set it, or choose isolation_action = '
            'watchdog-reboot or none')
    if agent.isolation_action == 'watchdog-reboot' and \
            not agent.watchdog_enabled:
        problems.append(
            '[agent] isolation_action = watchdog-reboot needs [agent] '
            'watchdog_enabled = true (there is no watchdog to stop feeding); '
            'enable it, or choose isolation_action = stop-instances or none')
    return problems
