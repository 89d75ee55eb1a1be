"""Pure formatting of API answers for people (no I/O): times, columns, the
recovery timeline."""

import datetime
import json
import time

from cliff import columns


class JsonColumn(columns.FormattableColumn):
    """A nested value: compact JSON in tables, the value itself in
    json/yaml output."""

    def human_readable(self):
        if self._value in (None, {}, []):
            return ''
        return json.dumps(self._value, sort_keys=True, separators=(', ', ': '))


class MappingColumn(columns.FormattableColumn):
    """A mapping: one ``key: value`` line per key in tables (a wide JSON
    line made ``vmr host show`` hundreds of columns wide), the mapping
    itself in json/yaml."""

    def human_readable(self):
        if not self._value:
            return ''
        if not isinstance(self._value, dict):
            return json.dumps(self._value, sort_keys=True)
        return '\n'.join(
            '%s: %s' % (key, value if isinstance(value, str) else
                        json.dumps(value, sort_keys=True,
                                   separators=(', ', ': ')))
            for key, value in sorted(self._value.items()))


def format_fence_profile(fence):
    """``rack: ipmi, fence_agent; then nova_force_down`` or why no profile
    applies."""
    if not fence:
        return ''
    if fence.get('error'):
        return 'NONE: %s' % fence['error']
    text = '%s: %s' % (fence.get('profile'),
                       ', '.join(fence.get('ladder') or []) or 'no rungs')
    if fence.get('post'):
        text += '; then %s' % ', '.join(fence['post'])
    return text


def format_fence_check(check, now=None):
    """The leader's last status-only check of a host's fence path."""
    if not check:
        return 'not checked yet'
    when = ''
    if check.get('checked_at') is not None:
        when = ', %s' % fmt_ago(check['checked_at'], now)
    if check.get('ok'):
        return 'ok (checked by %s%s)' % (check.get('checked_by'), when)
    return 'FAILED: %s (checked by %s%s)' % (check.get('why'),
                                             check.get('checked_by'), when)


class ServerListColumn(columns.FormattableColumn):
    """Servers of a dry run: one ``name (host)`` per line in tables."""

    def human_readable(self):
        lines = []
        for server in self._value or []:
            line = '%s (%s)' % (server.get('name') or server.get('id'),
                                server.get('host') or 'no host')
            if server.get('reason'):
                line += ': %s' % server['reason']
            lines.append(line)
        return '\n'.join(lines) or 'none'


class VrrpColumn(columns.FormattableColumn):
    """``{pair: {instance: record}}`` of the keepalived reports: one line
    per pair in tables, the records themselves in json/yaml."""

    def human_readable(self):
        return format_vrrp(self._value)


def format_vrrp(pairs):
    """``web: web-1 MASTER, web-2 BACKUP`` per pair, flagging a pair with
    no MASTER or more than one (both hold the VIP: split brain)."""
    lines = []
    for pair, instances in sorted((pairs or {}).items()):
        states = [(name, (record or {}).get('state') or 'UNKNOWN')
                  for name, record in sorted((instances or {}).items())]
        line = '%s: %s' % (pair, ', '.join('%s %s' % s for s in states))
        masters = sum(1 for _name, state in states if state == 'MASTER')
        if masters == 0:
            line += ' (no MASTER)'
        elif masters > 1:
            line += ' (%d MASTERs: split brain)' % masters
        lines.append(line)
    return '\n'.join(lines) or 'none'


class Shown(columns.FormattableColumn):
    """A value with its text for people: ``human`` in tables and ``-f
    value``/``csv``, ``value`` itself (numbers, states, mappings) in
    ``-f json``/``yaml``."""

    def __init__(self, value, human):
        super().__init__(value)
        self._human = human

    def human_readable(self):
        return self._human


#: the formatters that get values; the others (table, value, csv, shell)
#: get :class:`Shown`'s text
MACHINE_FORMATS = ('json', 'yaml')


def humanize(values, formatter):
    """``values`` (one row) with each :class:`Shown` replaced by its text,
    unless ``formatter`` is one of :data:`MACHINE_FORMATS`."""
    if formatter in MACHINE_FORMATS:
        return tuple(values)
    return tuple(v.human_readable() if isinstance(v, Shown) else v
                 for v in values)


class TimeColumn(columns.FormattableColumn):
    """An epoch time: UTC text in tables, ISO-8601 in json/yaml."""

    def human_readable(self):
        return fmt_time(self._value)

    def machine_readable(self):
        return iso_time(self._value)


class AgeColumn(TimeColumn):
    """An epoch time shown as how long ago (``8.6 s ago``) in tables,
    ISO-8601 in json/yaml.  ``now``: for tests."""

    def __init__(self, value, now=None):
        super().__init__(value)
        self._now = now

    def human_readable(self):
        if self._value in (None, ''):
            return ''
        try:
            return fmt_ago(self._value, self._now)
        except (TypeError, ValueError):
            return str(self._value)


def iso_time(ts):
    """``2026-11-27T11:50:05.250Z`` for an epoch time; None for none."""
    if ts in (None, ''):
        return None
    try:
        when = datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)
    return when.isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def _addresses(addresses):
    return ', '.join('%s=%s' % item for item in
                     sorted((addresses or {}).items())) or 'no address'


def format_duplicates(reports):
    """One entry per agent refused because another holds its host name."""
    if not reports:
        return 'none'
    return '; '.join(
        'REFUSED %s (boot id %s, %s): the name is held by boot id %s (%s)'
        % (r.get('host'), r.get('boot_id') or 'unknown',
           _addresses(r.get('addresses')),
           (r.get('holder') or {}).get('boot_id') or 'unknown',
           _addresses((r.get('holder') or {}).get('addresses')))
        for r in sorted(reports, key=lambda r: str(r.get('host'))))


def format_fence_paths(view):
    """The leader's last fence path checks: all ok, or the failed hosts."""
    if not view or not view.get('checked'):
        return 'not checked yet'
    failed = view.get('failed') or []
    if not failed:
        return '%d hosts checked, all ok' % view['checked']
    return '%d hosts checked; FAILED: %s' % (view['checked'], '; '.join(
        '%s (%s)' % (f.get('host'), f.get('why')) for f in failed))


def fmt_time(ts, with_date=True):
    """``2026-11-27 11:50:05Z`` (or ``11:50:05``) for an epoch time."""
    if ts in (None, ''):
        return ''
    try:
        when = datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(ts)
    return when.strftime('%Y-%m-%d %H:%M:%SZ' if with_date else '%H:%M:%S')


def fmt_ago(ts, now=None):
    """``8.6 s ago`` for an epoch time (``now``: for tests)."""
    now = time.time() if now is None else now
    return '%s ago' % fmt_duration(max(0.0, now - float(ts)))


def fmt_duration(seconds):
    """``850 ms``, ``4.2 s``, ``3m05s``, ``2h10m``."""
    if seconds is None:
        return ''
    seconds = float(seconds)
    if seconds < 1:
        return '%d ms' % round(seconds * 1000)
    if seconds < 60:
        return '%.1f s' % seconds
    if seconds < 3600:
        return '%dm%02ds' % divmod(int(seconds), 60)
    hours, rest = divmod(int(seconds), 3600)
    return '%dh%02dm' % (hours, rest // 60)


def _plural(count, word):
    return '%d %s%s' % (count, word, '' if count == 1 else 's')


def _table(rows, indent='  '):
    """Left-aligned columns; trailing empty cells trimmed."""
    if not rows:
        return []
    widths = [max(len(str(row[i])) for row in rows if i < len(row))
              for i in range(max(len(r) for r in rows))]
    out = []
    for row in rows:
        cells = [str(c).ljust(widths[i]) for i, c in enumerate(row)]
        out.append((indent + '  '.join(cells)).rstrip())
    return out


def step_counts(steps):
    """``{state: count}`` of a recovery's steps."""
    counts = {}
    for step in steps:
        state = step.get('state', 'pending')
        counts[state] = counts.get(state, 0) + 1
    return counts


def format_steps_summary(counts, total=None):
    """``2 done, 1 failed of 3`` from ``{state: count}``."""
    total = sum(counts.values()) if total is None else total
    if not total:
        return 'none'
    order = ('done', 'running', 'pending', 'failed', 'skipped')
    parts = ['%d %s' % (counts[s], s) for s in order if counts.get(s)]
    parts += ['%d %s' % (n, s) for s, n in sorted(counts.items())
              if s not in order and n]
    return '%s of %d' % (', '.join(parts), total)


def format_recovery(record):
    """A recovery record as readable text: header, fencing, steps, timeline.

    Times in the timeline are shown as UTC clock times and as offsets from
    the detection, which is what an operator reconstructing an incident
    wants.
    """
    lines = []
    trigger = record.get('trigger') or {}
    created = record.get('created_at')
    lines.append('Recovery %s: host %s, %s (trigger %s)' % (
        record.get('id', '?'), record.get('host') or '?',
        str(record.get('state', '?')).upper(), trigger.get('type', '?')))
    times = 'Detected %s' % (fmt_time(created) or '?')
    if record.get('updated_at') is not None:
        times += ', last update %s' % fmt_time(record['updated_at'])
        if created is not None:
            times += ' (+%s)' % fmt_duration(record['updated_at'] - created)
    lines.append(times)

    fencing = record.get('fencing') or {}
    lines.append('')
    verdict = 'verified off' if fencing.get('verified') else 'NOT verified'
    if fencing.get('verified') and fencing.get('method'):
        verdict += ' by %s' % fencing['method']
    if fencing.get('confirmed_by'):
        verdict += ', confirmed by hand by %s at %s' % (
            fencing['confirmed_by'], fmt_time(fencing.get('confirmed_at')))
    lines.append('Fencing: %s' % verdict)
    if fencing.get('reason'):
        lines.append('  %s' % fencing['reason'])
    if not fencing.get('verified') and fencing.get('next_retry_at'):
        lines.append('  next attempt at %s'
                     % fmt_time(fencing['next_retry_at']))
    rows = []
    for attempt in fencing.get('attempts') or []:
        rows.append([attempt.get('method', '?'),
                     'verified' if attempt.get('verified') else 'failed',
                     fmt_duration(attempt.get('duration')),
                     attempt.get('evidence') or attempt.get('error') or ''])
    lines.extend(_table(rows))

    steps = record.get('steps') or []
    lines.append('')
    lines.append('Steps: %s' % format_steps_summary(step_counts(steps)))
    rows = []
    for step in steps:
        name = step.get('server_name') or step.get('server_id') or '?'
        if step.get('server_name') and step.get('server_id'):
            name = '%s (%s)' % (step['server_name'], step['server_id'])
        took = ''
        if step.get('started_at') is not None and \
                step.get('finished_at') is not None:
            took = fmt_duration(step['finished_at'] - step['started_at'])
        outcome = step.get('error') or step.get('result') or ''
        if not isinstance(outcome, str):
            outcome = json.dumps(outcome, sort_keys=True)
        # Actions put their request ids into the result already; show the
        # ones it does not name (e.g. of a failed attempt).
        ids = [i for i in step.get('request_ids') or [] if i not in outcome]
        if ids:
            outcome = ('%s [%s]' % (outcome, ', '.join(ids))).strip()
        rows.append([name, step.get('action', '?'),
                     step.get('state', 'pending'),
                     _plural(int(step.get('attempts') or 0), 'attempt'),
                     took, outcome])
    lines.extend(_table(rows))

    timeline = record.get('timeline') or []
    lines.append('')
    lines.append('Timeline:')
    rows = []
    for entry in timeline:
        at = entry.get('at')
        offset = ''
        if at is not None and created is not None:
            gap = max(0.0, at - created)
            offset = '+%.1f s' % gap if gap < 1 else '+' + fmt_duration(gap)
        detail = entry.get('detail')
        if detail is not None and not isinstance(detail, str):
            detail = json.dumps(detail, sort_keys=True)
        rows.append([fmt_time(at, with_date=False), offset,
                     entry.get('event', ''), detail or ''])
    lines.extend(_table(rows) or ['  (empty)'])
    return '\n'.join(lines) + '\n'
