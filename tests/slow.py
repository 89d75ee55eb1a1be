"""The ``slow`` gate of the chaos, reliability, Ansible and real-tier tests.

Their ``slow`` tests run only with ``VMR_SLOW=1`` (``tox -e chaos``,
``tox -e ansible``, ``tox -e real``).
"""

import os

import pytest


def skip_slow_unless_asked(items, directory):
    """Mark skipped the ``slow`` tests collected below ``directory``,
    unless ``VMR_SLOW=1``.

    pytest_collection_modifyitems sees every collected test, not only the
    calling conftest's: only those below ``directory`` are gated.
    """
    if os.environ.get('VMR_SLOW') == '1':
        return
    skip = pytest.mark.skip(reason='slow: set VMR_SLOW=1 (tox -e chaos, '
                                   'ansible or real)')
    for item in items:
        if 'slow' in item.keywords and str(item.path).startswith(directory):
            item.add_marker(skip)
