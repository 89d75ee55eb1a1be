"""The agent-side watchdog: device protocol and software fallback."""

import threading
import time

import pytest

from vmr_agent import watchdog


def test_software_fallback_fires_when_not_fed():
    fired = threading.Event()
    dog = watchdog.Watchdog(0.3, device='/nonexistent/watchdog',
                            fallback_action=fired.set)
    dog.arm()
    assert dog.describe() == {'armed': True, 'timeout': 0.3,
                              'mode': 'software', 'device': None}
    assert fired.wait(2)
    assert dog.fired and not dog.armed
    dog.disarm()


def test_feeding_keeps_it_quiet_and_disarm_stops_it():
    fired = threading.Event()
    dog = watchdog.Watchdog(0.3, fallback_action=fired.set).arm()
    for _ in range(8):
        time.sleep(0.1)
        dog.feed()
    assert not fired.is_set()
    dog.disarm()
    time.sleep(0.5)
    assert not fired.is_set()
    assert dog.describe()['armed'] is False


def test_command_fallback(tmp_path):
    marker = tmp_path / 'fired'
    dog = watchdog.Watchdog(0.2, fallback_action=['touch', str(marker)])
    dog.arm()
    deadline = time.monotonic() + 3
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists()
    dog.disarm()


def test_device_feed_and_magic_close(tmp_path):
    # A regular file stands in for /dev/watchdog (no such device here); the
    # timeout ioctl fails on it and the device default is kept.
    device = tmp_path / 'watchdog'
    device.write_bytes(b'')
    dog = watchdog.Watchdog(30, device=str(device)).arm()
    assert dog.describe() == {'armed': True, 'timeout': 30.0,
                              'mode': 'device', 'device': str(device)}
    dog.feed()
    dog.disarm()
    assert device.read_bytes() == b'\0\0V'
    assert not dog.armed


def test_no_device_and_no_fallback_is_a_clear_error():
    dog = watchdog.Watchdog(10, device='/nonexistent/watchdog')
    with pytest.raises(watchdog.WatchdogError, match='modprobe softdog'):
        dog.arm()
    with pytest.raises(watchdog.WatchdogError):
        watchdog.Watchdog(0)
    with pytest.raises(watchdog.WatchdogError, match='before arm'):
        dog.feed()
