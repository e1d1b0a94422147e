"""Business operations of the democratic evaluation: open a session and
issue codes, cast a ballot with a one-time code, close and feed the counts
into the annual review.  Flush, never commit."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets

from sqlalchemy import delete, func, insert, select, update

from ..annual import records as annual_records, service as annual_service
from ..audit.service import current_actor, record
from ..core.db import utcnow
from ..core.errors import Invalid
from ..extensions import db
from ..people.models import Person
from ..policy.resolve import effective_policy
from ..tenancy.models import OrgNode
from ..web.messages import N_
from .models import GRADES, Ballot, BallotCode, BallotSession, BallotThrottle

# No 0/O, 1/I/L: codes are read off paper and typed on a phone.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LEN = 10
MAX_CODES = 2000
MAX_FAILURES = 10           # wrong codes from one address for one session ...
LOCK_SECONDS = 15 * 60      # ... lock that address out of the session for this long
_rng = random.SystemRandom()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch in ALPHABET)


def format_code(raw: str) -> str:
    return raw[:5] + "-" + raw[5:]


def code_hash(session: BallotSession, code: str) -> str:
    return hmac.new(session.salt.encode(), normalize(code).encode(), hashlib.sha256).hexdigest()


def min_ballots(unit: OrgNode, year: int) -> int:
    """The anonymity threshold: the policy's routine.min_anonymous_raters."""
    return max(1, int(effective_policy(unit, year)["routine.min_anonymous_raters"]))


def candidates(unit: OrgNode) -> list[Person]:
    return list(db.session.execute(select(Person).where(
        Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.active.is_(True))
        .order_by(Person.staff_no)).scalars())


def is_open(s: BallotSession, now: dt.datetime | None = None) -> bool:
    return s.status == "open" and _aware(s.closes_at) > (now or utcnow())


def open_session(unit: OrgNode, *, year: int, voters: int, closes_at: dt.datetime, title: str | None = None,
                 person_ids: list[int] | None = None) -> tuple[BallotSession, list[str]]:
    """Open a session and issue ``voters`` codes; the codes are returned here
    once and never again (only their hashes are kept)."""
    errors: dict[str, list] = {}
    if not unit.is_assessment_unit:
        errors["org_id"] = [N_("This node is not an assessment unit.")]
    if not 2000 <= int(year) <= 2100:
        errors["year"] = [N_("The year is between 2000 and 2100.")]
    if not 1 <= int(voters) <= MAX_CODES:
        errors["voters"] = [N_("Between 1 and 2000 codes per session.")]
    closes_at = _aware(closes_at)
    if closes_at is None or closes_at <= utcnow():
        errors["closes_at"] = [N_("The closing time must be in the future.")]
    people = candidates(unit) if not errors else []
    if person_ids:
        wanted = {int(i) for i in person_ids}
        people = [p for p in people if p.id in wanted]
        if len(people) != len(wanted):
            errors["person_ids"] = [N_("Only active people of this unit can be evaluated.")]
    if not errors and not people:
        errors["person_ids"] = [N_("The unit has nobody to evaluate.")]
    if errors:
        raise Invalid(errors)
    s = BallotSession(root_id=unit.root_id, org_id=unit.id, year=int(year),
                      title=(title or "").strip()[:120] or f"{year} 民主测评",
                      key=secrets.token_urlsafe(16)[:22], salt=secrets.token_hex(16), status="open",
                      closes_at=closes_at, candidate_ids=[p.id for p in people], codes_issued=0, ballots_cast=0,
                      applied=False, created_by=current_actor().name)
    db.session.add(s)
    db.session.flush()
    record("ballots.session.open", root_id=s.root_id, org_id=s.org_id, target_type="ballot_session",
           target_id=s.id, after={"year": s.year, "title": s.title, "closes_at": closes_at.isoformat(),
                                  "candidates": len(people)})
    codes = issue_codes(s, int(voters))
    return s, codes


def issue_codes(s: BallotSession, n: int) -> list[str]:
    """A batch of new one-time codes (set-based insert of their hashes)."""
    if not is_open(s):
        raise Invalid({"session": [N_("The session is closed.")]})
    if not 1 <= int(n) <= MAX_CODES or s.codes_issued + int(n) > MAX_CODES:
        raise Invalid({"voters": [N_("Between 1 and 2000 codes per session.")]})
    codes: set[str] = set()
    while len(codes) < n:
        codes.add("".join(_rng.choice(ALPHABET) for _ in range(CODE_LEN)))
    plain = sorted(codes, key=lambda _: _rng.random())
    db.session.execute(insert(BallotCode), [
        {"root_id": s.root_id, "org_id": s.org_id, "session_id": s.id, "code_hash": code_hash(s, c), "used": False}
        for c in plain])
    s.codes_issued += int(n)
    db.session.flush()
    record("ballots.codes.issue", root_id=s.root_id, org_id=s.org_id, target_type="ballot_session",
           target_id=s.id, after={"issued": int(n), "total": s.codes_issued})
    return [format_code(c) for c in plain]


# -- the voter side ------------------------------------------------------------------

def _throttle_key(s: BallotSession, client: str) -> str:
    return hashlib.sha256(f"{s.key}|{client}".encode()).hexdigest()


def check_throttle(s: BallotSession, client: str) -> None:
    t = db.session.get(BallotThrottle, _throttle_key(s, client))
    if t and t.locked_until and _aware(t.locked_until) > utcnow():
        raise Invalid({"code": [N_("Too many wrong codes; try again in 15 minutes.")]})


def _fail(s: BallotSession, client: str) -> None:
    key = _throttle_key(s, client)
    t = db.session.get(BallotThrottle, key)
    if t is None:
        t = BallotThrottle(key=key, failures=0)
        db.session.add(t)
    t.failures += 1
    t.last_failure_at = utcnow()
    if t.failures >= MAX_FAILURES:
        t.locked_until = utcnow() + dt.timedelta(seconds=LOCK_SECONDS)
        t.failures = 0
    db.session.flush()


BAD_CODE = N_("This code is not valid for this evaluation or was already used.")


def check_code(s: BallotSession, code: str, client: str) -> None:
    """Raise Invalid unless the code is unused (counts a failure)."""
    check_throttle(s, client)
    if not is_open(s):
        raise Invalid({"session": [N_("The evaluation is closed.")]})
    found = db.session.execute(select(BallotCode.id).where(
        BallotCode.root_id == s.root_id, BallotCode.session_id == s.id, BallotCode.code_hash == code_hash(s, code),
        BallotCode.used.is_(False))).first()
    if found is None:
        _fail(s, client)
        raise Invalid({"code": [BAD_CODE]})


def cast(s: BallotSession, code: str, choices: dict, client: str) -> None:
    """Consume the code (atomically: one UPDATE ... WHERE used = false) and
    store the ballot without any reference to it."""
    check_throttle(s, client)
    if not is_open(s):
        raise Invalid({"session": [N_("The evaluation is closed.")]})
    wanted = {int(i) for i in s.candidate_ids}
    clean: dict[str, str] = {}
    errors: dict[str, list] = {}
    for pid in wanted:
        g = (choices or {}).get(pid) or (choices or {}).get(str(pid))
        if g not in GRADES:
            errors[f"p{pid}"] = [N_("Choose Excellent, Competent, Basically competent or Incompetent.")]
        else:
            clean[str(pid)] = g
    if errors:
        raise Invalid(errors)
    res = db.session.execute(update(BallotCode).where(
        BallotCode.root_id == s.root_id, BallotCode.session_id == s.id, BallotCode.code_hash == code_hash(s, code),
        BallotCode.used.is_(False)).values(used=True).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        _fail(s, client)
        raise Invalid({"code": [BAD_CODE]})
    db.session.execute(insert(Ballot), [{"id": _rng.randrange(1, 2**62), "root_id": s.root_id,
                                         "org_id": s.org_id, "session_id": s.id, "choices": clean}])
    db.session.execute(update(BallotSession).where(BallotSession.root_id == s.root_id, BallotSession.id == s.id)
                       .values(ballots_cast=BallotSession.ballots_cast + 1)
                       .execution_options(synchronize_session=False))
    db.session.flush()


# -- closing -------------------------------------------------------------------------

def tally(s: BallotSession) -> dict[int, dict[str, int]]:
    counts = {int(pid): {g: 0 for g in GRADES} for pid in s.candidate_ids}
    for (choices,) in db.session.execute(select(Ballot.choices).where(
            Ballot.root_id == s.root_id, Ballot.session_id == s.id)):
        for pid, g in (choices or {}).items():
            if int(pid) in counts and g in GRADES:
                counts[int(pid)][g] += 1
    return counts


def _shuffle(s: BallotSession) -> int:
    """Rewrite the ballots in random order with new random ids."""
    rows = [c for (c,) in db.session.execute(select(Ballot.choices).where(
        Ballot.root_id == s.root_id, Ballot.session_id == s.id))]
    _rng.shuffle(rows)
    db.session.execute(delete(Ballot).where(Ballot.root_id == s.root_id, Ballot.session_id == s.id))
    ids = _rng.sample(range(1, 2**62), len(rows))
    if rows:
        db.session.execute(insert(Ballot), [{"id": i, "root_id": s.root_id, "org_id": s.org_id, "session_id": s.id,
                                             "choices": c} for i, c in zip(ids, rows)])
    return len(rows)


def close(s: BallotSession, unit: OrgNode, *, reason: str = "by_hand") -> BallotSession:
    """Close the session; when enough ballots were cast (the anonymity
    threshold), write the counts into the annual review of every candidate
    (through annual.records.save_review: validated and audited there)."""
    if s.status != "open":
        raise Invalid({"session": [N_("The session is already closed.")]})
    db.session.refresh(s)
    cast_n = _shuffle(s)
    s.ballots_cast = cast_n
    counts = tally(s)
    s.status, s.closed_at = "closed", utcnow()
    s.result = {str(pid): c for pid, c in counts.items()}
    threshold = min_ballots(unit, s.year)
    a = annual_service.get_or_open(unit, s.year) if cast_n >= threshold else None
    if a is not None and a.status not in ("open", "computed"):
        s.applied, s.note = False, "assessment_confirmed"   # counts kept on the session, the review is final
    elif a is not None:
        people = {p.id: p for p in db.session.execute(select(Person).where(
            Person.root_id == s.root_id, Person.id.in_(list(counts)))).scalars()}
        for pid in sorted(counts):
            if pid in people:
                annual_records.save_review(a, people[pid], votes=counts[pid])
        s.applied = True
        s.note = None
    else:
        s.applied = False
        s.note = "below_threshold"
    db.session.flush()
    record("ballots.session.close", root_id=s.root_id, org_id=s.org_id, target_type="ballot_session",
           target_id=s.id, reason=reason,
           after={"ballots": cast_n, "threshold": threshold, "applied": s.applied})
    return s


def close_due(now: dt.datetime | None = None) -> int:
    """Close every open session in scope whose time has come."""
    now = now or utcnow()
    due = list(db.session.execute(select(BallotSession).where(
        BallotSession.status == "open", BallotSession.closes_at <= now).order_by(BallotSession.id)).scalars())
    for s in due:
        close(s, db.session.get(OrgNode, s.org_id), reason="time")
    return len(due)


def visible_result(s: BallotSession, unit: OrgNode) -> dict | None:
    """The counts, or None while open or below the anonymity threshold."""
    if s.status != "closed" or not s.result:
        return None
    if s.ballots_cast < min_ballots(unit, s.year):
        return None
    return {int(k): v for k, v in s.result.items()}


def sessions_of(unit: OrgNode) -> list[BallotSession]:
    return list(db.session.execute(select(BallotSession).where(
        BallotSession.root_id == unit.root_id, BallotSession.org_id == unit.id)
        .order_by(BallotSession.id.desc())).scalars())


def codes_left(s: BallotSession) -> int:
    return db.session.execute(select(func.count()).select_from(BallotCode).where(
        BallotCode.root_id == s.root_id, BallotCode.session_id == s.id, BallotCode.used.is_(False))).scalar_one()
