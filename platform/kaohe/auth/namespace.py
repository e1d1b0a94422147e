"""Which usernames an administrator may create (issue 11, finding 8).

Usernames are the login, so they are unique across the whole platform; a
creation that collides must be refused, and a refusal that depended on
accounts of another province would tell a unit admin which names exist
there.  So every province owns a namespace that no other province can
enter: the names ending in ``@`` and the province's code (province codes
are unique on the platform, compared without case, and the domain of a name
is what follows its *last* ``@``, so two namespaces never overlap).

- An administrator who is not a platform operator may only create names in
  the namespace of the province the account is homed in.  A name outside it
  is refused with the same field message whether or not it exists anywhere,
  and that check comes before the look-up; a collision (409) can therefore
  only reveal a name that only this province's administrators (or the
  operator) could have created.
- Provisioned names (``accounts.username_rule``) are qualified into the
  namespace (``T1-0007`` → ``T1-0007@P``), whoever provisions.
- The platform operator and the command line (which runs with the owner's
  credentials) may create any name, e.g. a province's first policy admin.
"""
from __future__ import annotations

SEPARATOR = "@"
MAX_LENGTH = 64


def domain(username: str) -> str | None:
    """The namespace a name lies in (lower case), None without a separator."""
    if SEPARATOR not in username:
        return None
    return username.rsplit(SEPARATOR, 1)[1].strip().lower()


def suffix(province_code: str) -> str:
    return SEPARATOR + province_code


def in_namespace(username: str, province_code: str) -> bool:
    return domain(username) == province_code.strip().lower()


def qualify(name: str, province_code: str) -> str:
    """``name`` moved into the province's namespace (unchanged if it is in
    it), at most MAX_LENGTH characters (the local part is cut)."""
    if in_namespace(name, province_code) and len(name) <= MAX_LENGTH:
        return name
    tail = suffix(province_code)
    return name[:MAX_LENGTH - len(tail)] + tail
