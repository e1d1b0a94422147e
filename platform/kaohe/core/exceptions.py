"""The errors a business operation raises (KaoheError and its kinds).  Plain
Python, so pure modules (workbook checks, arithmetic) may raise them too;
``core.errors`` turns them into answers."""
from __future__ import annotations


class KaoheError(Exception):
    status = 400
    default = "Invalid request."

    def __init__(self, errors: dict | str | None = None, message: str | None = None):
        if isinstance(errors, str):
            message, errors = errors, None
        self.errors = errors or {}
        self.message = message or self.default
        super().__init__(self.message)


class Invalid(KaoheError):
    """Input that breaks a rule: 422 with the field and the rule named."""

    status = 422
    default = "The input is not valid."


class Conflict(KaoheError):
    """A duplicate, or an edit based on a stale version: 409."""

    status = 409
    default = "The request conflicts with the current state."


class Forbidden(KaoheError):
    """Inside the caller's scope but not allowed to their role: 403."""

    status = 403
    default = "You are not allowed to do this."
