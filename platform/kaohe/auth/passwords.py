"""Argon2id password hashing.  The production cost (t=3, m=64 MiB, p=2) was
measured at ~60-90 ms per hash on the 2-core reference machine (see README,
`kaohe bench hash`); tests lower it through KAOHE_ARGON2_* settings."""
from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher: PasswordHasher | None = None


def hasher() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        _hasher = PasswordHasher(
            time_cost=int(os.environ.get("KAOHE_ARGON2_TIME_COST", 3)),
            memory_cost=int(os.environ.get("KAOHE_ARGON2_MEMORY_KB", 64 * 1024)),
            parallelism=int(os.environ.get("KAOHE_ARGON2_PARALLELISM", 2)),
        )
    return _hasher


def reset_hasher() -> None:
    global _hasher
    _hasher = None


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


# A hash of a random password, checked when the username is unknown so the
# response time does not reveal which accounts exist.
_DUMMY: str | None = None


def dummy_verify(password: str) -> None:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(os.urandom(16).hex())
    verify_password(_DUMMY, password)
