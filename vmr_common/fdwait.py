"""Wait until sockets are readable, whatever their file descriptor numbers.

``select.select`` refuses descriptors of 1024 and above ("filedescriptor out
of range in select()"): a process with many connections open -- a
coordinator watching thousands of hosts, a test run -- would lose its probe
responder or its virtual BMCs to a ValueError.  :func:`readable` uses
``poll``, which has no such limit.
"""

import select

_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def readable(objects, timeout):
    """The ``objects`` (sockets, or anything with ``fileno()``, or ints)
    ready to read within ``timeout`` seconds; closed ones are skipped, and a
    socket whose peer hung up or failed counts as ready (its read says)."""
    poller = select.poll()
    by_fd = {}
    for obj in objects:
        try:
            fd = obj if isinstance(obj, int) else obj.fileno()
        except (OSError, ValueError):
            continue
        if fd < 0:
            continue
        by_fd[fd] = obj
        poller.register(fd, _EVENTS)
    if not by_fd:
        return []
    return [by_fd[fd] for fd, _events in poller.poll(max(0.0, timeout) * 1000)
            if fd in by_fd]
