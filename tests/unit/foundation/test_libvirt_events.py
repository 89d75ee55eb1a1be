"""LibvirtWatcher's event filter and report.

libvirt cannot run on this machine (no hypervisor), so the events are
delivered by calling the callback as libvirt would; the stand-in domain
below has the two methods libvirt's virDomain offers to it.
"""

from vmr_agent import libvirt_events as lv


class Domain:
    def __init__(self, uuid, name):
        self._uuid, self._name = uuid, name

    def UUIDString(self):
        return self._uuid

    def name(self):
        return self._name


def test_only_unexpected_stops_are_reported_and_they_expire():
    now = [1000.0]
    w = lv.LibvirtWatcher('qemu:///system', keep=60, clock=lambda: now[0])
    w.on_event(None, Domain('u-crash', 'instance-1'), lv.EVENT_CRASHED, 0,
               None)
    w.on_event(None, Domain('u-failed', 'instance-2'), lv.EVENT_STOPPED,
               lv.STOPPED_FAILED, None)
    # Nova's own `stop` destroys the domain: not a failure
    w.on_event(None, Domain('u-stopped', 'instance-3'), lv.EVENT_STOPPED,
               lv.STOPPED_DESTROYED, None)
    w.on_event(None, Domain('u-shutdown', 'instance-4'), lv.EVENT_STOPPED,
               lv.STOPPED_SHUTDOWN, None)
    assert w.report() == ['u-crash', 'u-failed']
    now[0] += 61
    assert w.report() == []


def test_missing_binding_is_a_warning_not_a_crash(caplog):
    w = lv.LibvirtWatcher('qemu:///system')
    if lv.LibvirtWatcher.available():
        return  # the binding is installed here: nothing to check
    assert w.start() is False
    assert 'libvirt Python binding is missing' in caplog.text
