"""Triggers: what failed, as events, and which contracts react to it.

Every trigger is a stevedore plugin in the ``vmr.triggers`` namespace; see
:mod:`vmr_coordinator.triggers.base`.
"""
