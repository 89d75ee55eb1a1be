"""``vmr status``'s vrrp field: one line per keepalived pair."""

from vmr_client import render


def _rec(state):
    return {'state': state, 'previous': None, 'received_at': 1.0}


def test_one_line_per_pair_sorted():
    text = render.format_vrrp({
        'web': {'web-2': _rec('BACKUP'), 'web-1': _rec('MASTER')},
        'db': {'db-1': _rec('MASTER'), 'db-2': _rec('BACKUP')}})
    assert text.splitlines() == ['db: db-1 MASTER, db-2 BACKUP',
                                 'web: web-1 MASTER, web-2 BACKUP']


def test_no_master_and_split_brain_are_flagged():
    text = render.format_vrrp({
        'lb': {'lb-1': _rec('FAULT'), 'lb-2': _rec('BACKUP')},
        'web': {'web-1': _rec('MASTER'), 'web-2': _rec('MASTER')}})
    assert text.splitlines() == [
        'lb: lb-1 FAULT, lb-2 BACKUP (no MASTER)',
        'web: web-1 MASTER, web-2 MASTER (2 MASTERs: split brain)']


def test_nothing_reported():
    assert render.format_vrrp({}) == 'none'
    assert render.format_vrrp(None) == 'none'


def test_column_keeps_the_records_for_machine_formats():
    pairs = {'web': {'web-1': _rec('MASTER')}}
    column = render.VrrpColumn(pairs)
    assert column.machine_readable() == pairs
    assert column.human_readable() == 'web: web-1 MASTER'
