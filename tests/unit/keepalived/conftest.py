"""Fixtures for the keepalived unit tests: golden files.

Golden files live in ``golden/``. After an intended template change,
regenerate them and review the diff::

    VMR_REGEN_GOLDEN=1 pytest tests/unit/keepalived
    git diff tests/unit/keepalived/golden
"""

import os

import pytest

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'golden')
REGEN = os.environ.get('VMR_REGEN_GOLDEN') == '1'


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``golden/<name>`` (or rewrite it under VMR_REGEN_GOLDEN=1)."""
    path = os.path.join(GOLDEN_DIR, name)
    if REGEN:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return
    if not os.path.exists(path):
        pytest.fail(f'golden file {name} missing: run VMR_REGEN_GOLDEN=1 pytest '
                    f'tests/unit/keepalived and review the new file')
    with open(path) as f:
        expected = f.read()
    # Plain == so pytest prints a readable diff on mismatch.
    assert text == expected, f'{name} differs from its golden file (VMR_REGEN_GOLDEN=1 ' \
                             f'regenerates it after an intended change)'


@pytest.fixture
def golden():
    """Callable ``golden(name, text)``: compare with (or regenerate) a golden file."""
    return assert_golden
