"""Who rates whom (谁管理谁考核), as pure functions over plain rows so the
API, the to-do lists and the completeness board apply the same rules.

A department head rates the staff of their department; a leader (分管领导)
rates the heads of the departments in their charge and never the staff
beneath them; the head (主要领导) rates the deputies; peers rate the
members of their peer groups (互评组); everybody assesses themselves;
democratic raters (民主测评) are the colleagues of the same department (or
of the whole unit, when the scheme says so)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable


def N_(message: str) -> str:
    """Marks a rule's message for the catalog (pages show it translated); no Flask here."""
    return message


LEADER_ROLES = ("head", "deputy")

# rule code → message naming the rule (shown in 403 answers and in pages)
RULES = {
    "self_only": N_("Self-assessment is only for oneself."),
    "not_self": N_("Nobody gives themselves a supervisor, peer or democratic rating."),
    "leader_skips_level": N_("A leader rates the heads of the departments in their charge, not the staff "
                             "beneath them (whoever manages a person assesses them)."),
    "leader_not_in_charge": N_("A leader rates only the heads of the departments in their charge."),
    "other_department": N_("A department head rates only the staff of their own department."),
    "not_manager": N_("Only the person's manager gives the supervisor rating (whoever manages a person "
                     "assesses them)."),
    "derived_leader": N_("This leader's score is derived from the scores of those they lead; nobody rates it "
                         "directly."),
    "not_peer": N_("Peer ratings are given only within one's peer group."),
    "not_colleague": N_("Democratic ratings are given only by colleagues of the same department."),
    "not_participant": N_("The rater does not take part in this period."),
    "kind_not_used": N_("The scheme of this person gives no weight to this kind of rater."),
    "stronger_relation": N_("You already rate this colleague under a stronger relation this period; the policy "
                            "allows one rating per colleague."),
}

# strongest first: with ``overlap="strongest"`` a pair is rated only under the
# first of these kinds the rules allow
STRENGTH = ("supervisor", "peer", "democratic")
OVERLAP_MODES = ("strongest", "every_relation")


@dataclass(frozen=True)
class P:
    """A participant as the rules see them."""

    person_id: int
    dept_id: int | None       # None for people sitting directly in the unit (leaders)
    role: str                 # head | deputy | dept_head | staff
    scheme_code: str = ""


@dataclass
class RelationIndex:
    people: dict[int, P]
    charges: dict[int, set[int]] = field(default_factory=dict)      # leader → departments
    groups: dict[int, set[int]] = field(default_factory=dict)       # person → peer-group ids
    derived_schemes: set[str] = field(default_factory=set)          # schemes whose leaders are derived
    democratic_unit_schemes: set[str] = field(default_factory=set)  # democratic scope = whole unit
    rater_kinds: dict[str, set[str]] = field(default_factory=dict)  # scheme → kinds with weight > 0
    overlap: str = "strongest"      # routine.rating_overlap: strongest | every_relation

    @classmethod
    def build(cls, people: Iterable[P], charges: Iterable[tuple[int, int]] = (),
              memberships: Iterable[tuple[int, int]] = (), **kw) -> "RelationIndex":
        idx = cls(people={p.person_id: p for p in people}, **kw)
        for leader, dept in charges:
            idx.charges.setdefault(leader, set()).add(dept)
        for group, person in memberships:
            idx.groups.setdefault(person, set()).add(group)
        return idx

    def check(self, rater_id: int, ratee_id: int, kind: str) -> str | None:
        """None when allowed, else the code of the rule that forbids it.
        Under ``overlap="strongest"`` a rater who may rate a colleague under
        several relations rates them once, under the strongest."""
        rule = self._check(rater_id, ratee_id, kind)
        if rule is None and self.overlap == "strongest" and kind in STRENGTH:
            for stronger in STRENGTH[:STRENGTH.index(kind)]:
                if self._check(rater_id, ratee_id, stronger) is None:
                    return "stronger_relation"
        return rule

    def _check(self, rater_id: int, ratee_id: int, kind: str) -> str | None:
        rater, ratee = self.people.get(rater_id), self.people.get(ratee_id)
        if rater is None or ratee is None:
            return "not_participant"
        kinds = self.rater_kinds.get(ratee.scheme_code)
        if kinds is not None and kind not in kinds:
            return "kind_not_used"
        if kind == "self":
            return None if rater_id == ratee_id else "self_only"
        if rater_id == ratee_id:
            return "not_self"
        if kind == "supervisor":
            return self._supervisor(rater, ratee)
        if kind == "peer":
            return None if self.groups.get(rater_id, set()) & self.groups.get(ratee_id, set()) else "not_peer"
        if kind == "democratic":
            if ratee.scheme_code in self.democratic_unit_schemes or rater.dept_id == ratee.dept_id:
                return None
            return "not_colleague"
        return "not_manager"

    def _supervisor(self, rater: P, ratee: P) -> str | None:
        if ratee.role in LEADER_ROLES and ratee.scheme_code in self.derived_schemes:
            return "derived_leader"
        if rater.role == "dept_head":
            if ratee.dept_id is not None and ratee.dept_id == rater.dept_id and ratee.role == "staff":
                return None
            return "other_department" if ratee.role in ("staff", "dept_head") else "not_manager"
        if rater.role in LEADER_ROLES:
            in_charge = self.charges.get(rater.person_id, set())
            if ratee.role == "dept_head":
                return None if ratee.dept_id in in_charge else "leader_not_in_charge"
            if ratee.role == "deputy" and rater.role == "head":
                return None
            if ratee.role == "staff":
                return "leader_skips_level"
            return "not_manager"
        return "not_manager"

    def ratees_of(self, rater_id: int) -> list[tuple[int, str]]:
        """Everyone this rater must rate, with the kind: the to-do list."""
        out = []
        for pid in self.people:
            for kind in ("supervisor", "self", "peer", "democratic"):
                if self.check(rater_id, pid, kind) is None:
                    out.append((pid, kind))
        return out

    def raters_of(self, ratee_id: int) -> list[tuple[int, str]]:
        out = []
        for rid in self.people:
            for kind in ("supervisor", "self", "peer", "democratic"):
                if self.check(rid, ratee_id, kind) is None:
                    out.append((rid, kind))
        return out
