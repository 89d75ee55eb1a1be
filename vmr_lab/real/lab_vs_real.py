"""Print doc/lab-vs-real.rst's table from two JUnit XML files.

    python -m vmr_lab.real.lab_vs_real LAB.xml REAL.xml

LAB.xml: ``pytest --junitxml`` of the lab test modules on the lab;
REAL.xml: the same modules with ``VMR_TEST_CLOUD`` on the real tier (what
``tests/real/test_lab_agrees.py`` writes).
"""

import sys
import xml.etree.ElementTree as ET


#: how the table writes each outcome
CELLS = {'passed': 'pass', 'failed': 'FAIL', 'skipped': 'skip'}


def outcomes(path):
    """``{test name: ('passed' | 'failed' | 'skipped', message)}`` of a
    ``pytest --junitxml`` file; the name is ``module::test``."""
    result = {}
    # noqa below: the JUnit file pytest just wrote, not untrusted input.
    for case in ET.parse(path).getroot().iter('testcase'):  # noqa: S314 # nosec B314
        name = '%s::%s' % (case.get('classname').rsplit('.', 1)[-1],
                           case.get('name'))
        outcome, message = 'passed', ''
        for tag in ('failure', 'error', 'skipped'):
            child = case.find(tag)
            if child is not None:
                outcome = 'skipped' if tag == 'skipped' else 'failed'
                message = (child.get('message') or '').replace('\n', ' ')
                break
        result[name] = (outcome, message)
    return result


def _reason(message):
    for prefix in ('VMR_TEST_CLOUD is set: ',):
        if message.startswith(prefix):
            return 'lab-only: ' + message[len(prefix):]
    return message


def table(lab, real):
    """One row per test of the lab run."""
    rows = [('Test', 'Lab', 'Real')]
    for name in sorted(lab):
        lab_outcome, lab_msg = lab.get(name, ('-', ''))
        real_outcome, real_msg = real.get(name, ('-', ''))
        lab_outcome = CELLS.get(lab_outcome, lab_outcome)
        real_outcome = CELLS.get(real_outcome, real_outcome)
        lab_cell = lab_outcome if lab_outcome != 'skip' else \
            'skip: ' + lab_msg
        if real_outcome == 'skip':
            real_msg = _reason(real_msg)
            lab_cell = 'lab-only' if real_msg.startswith('lab-only') and \
                lab_outcome == 'pass' else lab_cell
            real_cell = 'skip: ' + real_msg
        else:
            real_cell = real_outcome
        rows.append(('``%s``' % name, lab_cell, real_cell))
    out = ['.. list-table::', '   :header-rows: 1', '   :widths: 40 10 50', '']
    for row in rows:
        out.append('   * - %s' % row[0])
        out.extend('     - %s' % cell for cell in row[1:])
    return '\n'.join(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit(__doc__)
    print(table(outcomes(argv[0]), outcomes(argv[1])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
