"""Fixtures and builders shared by the tests (and usable from a shell)."""
