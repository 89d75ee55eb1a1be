"""Helpers shared by several test suites (unit, functional): not tests
themselves, and no fixtures a suite would pick up by accident."""
