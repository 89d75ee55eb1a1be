"""The leader keeps its cloud connection warm (issue 24): the first calls
of a heal -- the fence's force-down, the plan's reads -- find a token and
the endpoints already discovered, and a token about to expire is renewed
by the warm-up, not by a heal."""

import datetime
import logging

from vmr_coordinator import cloud
from vmr_coordinator.recovery import upkeep
from vmr_lab.services import keystone


def test_a_warm_connection_asks_keystone_nothing_during_a_heal(recovery,
                                                               lab):
    tokens = len(lab.keystone.tokens)
    recovery._warm_job()
    assert len(lab.keystone.tokens) == tokens + 1   # its token
    # what a fence's post step asks first: no token, no discovery
    conn = recovery.conn
    assert cloud.compute_service(conn, 'compute-1').host == 'compute-1'
    assert len(lab.keystone.tokens) == tokens + 1


def test_a_token_about_to_expire_is_renewed_by_the_warm_up(
        recovery, lab, monkeypatch, caplog):
    monkeypatch.setattr(keystone, 'TOKEN_LIFETIME',
                        datetime.timedelta(seconds=upkeep.WARM_RENEW / 2))
    recovery._warm_job()
    tokens = len(lab.keystone.tokens)
    first = recovery.conn.session.get_token()
    with caplog.at_level(logging.INFO, 'vmr_coordinator.recovery.upkeep'):
        recovery._warm_job()        # expires within WARM_RENEW: renewed
    assert len(lab.keystone.tokens) == tokens + 1
    assert recovery.conn.session.get_token() != first
    assert 'token renewed ahead of a heal' in caplog.text
    monkeypatch.undo()
    recovery._warm_job()            # that one expires within it too
    second = recovery.conn.session.get_token()
    recovery._warm_job()            # a 12 h token: kept
    assert recovery.conn.session.get_token() == second


def test_a_cloud_that_cannot_be_reached_is_said_once(recovery, lab,
                                                     caplog):
    lab.keystone.inject_fault(503, count=2, method='POST',
                              path_contains='/auth/tokens')
    with caplog.at_level(logging.WARNING, 'vmr_coordinator.recovery.upkeep'):
        recovery._warm_job()
        recovery._warm_job()
    said = [r for r in caplog.records
            if 'cannot warm up the cloud connection' in r.getMessage()]
    assert len(said) == 1
    with caplog.at_level(logging.INFO, 'vmr_coordinator.recovery.upkeep'):
        recovery._warm_job()
    assert 'cloud connection warm again' in caplog.text
