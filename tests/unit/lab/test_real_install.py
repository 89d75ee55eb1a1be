"""The real tier's cache keeps the virtualenvs in use and drops the
stale ones of older pins."""

import os

from vmr_lab.real import install

DAY = 86400


def _venv(home, name, used_at=None, stamped_at=None):
    path = os.path.join(home, name)
    os.makedirs(path)
    for mark, at in ((install.USED, used_at), (install.STAMP, stamped_at)):
        if at is not None:
            open(os.path.join(path, mark), 'w').close()
            os.utime(os.path.join(path, mark), (at, at))
    return path


def test_only_other_pins_unused_for_a_week_are_removed(tmp_path):
    home, now = str(tmp_path), 100 * DAY
    keep = _venv(home, 'venv-current', used_at=now - 30 * DAY)
    old = _venv(home, 'venv-old', used_at=now - 8 * DAY)
    recent = _venv(home, 'venv-recent', used_at=now - 6 * DAY)
    # never marked as used (built before the mark existed): its stamp
    stamped = _venv(home, 'venv-stamped', stamped_at=now - 9 * DAY)
    other = _venv(home, 'not-a-venv', used_at=now - 30 * DAY)

    removed = install.remove_stale(home, keep, now=now)

    assert sorted(removed) == sorted([old, stamped])
    for path in (keep, recent, other):
        assert os.path.isdir(path), path
    assert not os.path.exists(old) and not os.path.exists(stamped)


def test_a_use_marks_the_virtualenv(tmp_path):
    real = install._describe(_venv(str(tmp_path), 'venv-x'))
    assert install._used(real) is real
    assert os.path.exists(os.path.join(real.venv, install.USED))
