"""Fake fencers for the fence ladder's tests: scripted by their options.

They replace the stevedore lookup (``base.load_fencer``), so the ladder's
own logic is what is under test; the real drivers are exercised against
real BMCs in tests/functional/fencing.
"""

import time

import pytest

from vmr_coordinator.fencing import base
from vmr_coordinator.fencing import ladder
from vmr_coordinator.fencing import profiles as fp

SECRET = 'pw-never-shown'


class FakeFencer(base.Fencer):
    """Scripted by its options: verified / sleep / raise / error text."""

    optional_options = {'verified': False, 'sleep': 0.0, 'raise': None,
                        'error': None, 'password': None, 'tag': None}
    calls = []

    def status(self, target):
        return base.PowerState.UNKNOWN

    def fence(self, target, timeout):
        FakeFencer.calls.append((self.name, self.options['tag'], timeout))
        if self.options['sleep']:
            time.sleep(self.options['sleep'])
        if self.options['raise']:
            raise RuntimeError(self.options['raise'])
        verified = bool(self.options['verified'])
        return self.result(verified, evidence='%s did it' % self.name,
                           error=None if verified else self.options['error']
                           or '%s failed' % self.name)


class FakePost(FakeFencer):
    is_fence = False


@pytest.fixture(autouse=True)
def fake_loader(monkeypatch):
    FakeFencer.calls = []

    def load(name, options, conf, context=None):
        if name == 'broken':
            raise base.FenceConfigError('%s (%s): missing option '
                                        "'address'" % (context, name))
        cls = FakePost if name.startswith('post') else FakeFencer
        fencer = cls(options, conf)
        fencer.name = name
        return fencer

    monkeypatch.setattr(ladder.base, 'load_fencer', load)


def profile(ladder_rungs, post=()):
    return fp.FenceProfiles.from_dict({'profiles': {'p': {
        'hosts': ['h1'], 'ladder': list(ladder_rungs),
        'post': list(post)}}}).profile_for('h1')


