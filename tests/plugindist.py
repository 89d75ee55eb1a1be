"""Install test plugins the way pip installs VMR's own: a distribution whose
``entry_points.txt`` lies on ``sys.path``, read by the one plugin loader
(:mod:`vmr_coordinator.plugins`).  Nothing of the loader is patched.

A test module makes the fixture with::

    plugin_dist = plugin_dist_fixture()

and calls ``plugin_dist({'vmr.triggers': {'name': 'module:Class'}})``.
The classes used here live in :mod:`tests.plugin_samples`.
"""

import importlib

import pytest

DIST = 'vmr_test_plugins-0.dist-info'


def install(path, monkeypatch, entry_points):
    """Write a distribution with ``entry_points`` (``{namespace: {name:
    'module:Class'}}``) under ``path`` and put ``path`` first on sys.path."""
    from vmr_coordinator import plugins
    dist = path / DIST
    dist.mkdir(parents=True)
    (dist / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: vmr-test-plugins\nVersion: 0\n')
    lines = []
    for namespace, targets in entry_points.items():
        lines.append('[%s]' % namespace)
        lines += ['%s = %s' % item for item in targets.items()]
        lines.append('')
    (dist / 'entry_points.txt').write_text('\n'.join(lines))
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    plugins.forget()


def plugin_dist_fixture():
    """A ``plugin_dist`` fixture: a function that installs test plugins;
    they are gone (and the loader's caches dropped) after the test."""
    @pytest.fixture
    def plugin_dist(tmp_path, monkeypatch):
        from vmr_coordinator import plugins

        def installer(entry_points):
            install(tmp_path / 'plugin-dist', monkeypatch, entry_points)
        yield installer
        plugins.forget()
    return plugin_dist
