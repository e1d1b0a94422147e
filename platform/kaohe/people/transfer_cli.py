"""`kaohe people transfer`: the person page's transfer from the command line
(the same schema and service; run as the system, so no permission check)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.terminal import one_line_errors


def _group(app) -> AppGroup:
    """The `people` group (shared with other people commands, if registered first)."""
    group = app.cli.commands.get("people")
    if group is None:
        group = AppGroup("people", help="People on the rosters.")
        app.cli.add_command(group)
    return group


def register(app) -> None:
    people = _group(app)

    @people.command("transfer")
    @click.argument("unit_code")
    @click.argument("staff_no")
    @click.argument("to_unit_code")
    @click.option("--dept", "dept_code", default=None, help="Department code in the new unit (default: the unit)")
    @click.option("--staff-no", "new_staff_no", default=None, help="Staff number in the new unit (default: the same)")
    @click.option("--role", "position_role", default="staff", show_default=True,
                  type=click.Choice(["staff", "dept_head", "deputy", "head"]))
    @click.option("--reason", required=True, help="Why (e.g. the transfer order's number)")
    @click.option("--province", "province_code", default=None, help="Province code, when unit codes repeat")
    @one_line_errors
    def transfer(unit_code, staff_no, to_unit_code, dept_code, new_staff_no, position_role, reason, province_code):
        """Transfer the person with STAFF_NO on UNIT_CODE's roster to TO_UNIT_CODE."""
        from sqlalchemy import select

        from ..audit.service import Actor, reset_actor, set_actor
        from ..core.errors import Invalid
        from ..extensions import db
        from ..tenancy.scope import Scope, apply_scope
        from ..tenancy.service import node_by_code
        from .models import Person
        from .transfers import TransferSchema, transfer as do_transfer

        apply_scope(Scope.system("cli"))

        def node(code, field):
            return node_by_code(code, province_code, field=field)

        unit, to_unit = node(unit_code, "unit"), node(to_unit_code, "to_unit")
        to_org = node(dept_code, "dept") if dept_code else None
        person = db.session.execute(select(Person).where(
            Person.root_id == unit.root_id, Person.unit_id == unit.id, Person.staff_no == staff_no)).scalar_one_or_none()
        if person is None:
            raise Invalid({"staff_no": [f"no person with staff number {staff_no} on {unit_code}'s roster"]})
        raw = {"to_unit_id": to_unit.id, "position_role": position_role, "reason": reason}
        if to_org is not None:
            raw["to_org_id"] = to_org.id
        if new_staff_no:
            raw["staff_no"] = new_staff_no
        data = TransferSchema().load(raw)
        token = set_actor(Actor(None, "cli"))
        try:
            row = do_transfer(person, to_unit, data, to_org=to_org, check_manage=False)
            db.session.commit()
        finally:
            reset_actor(token)
        click.echo(f"transferred {person.name} from {unit_code} ({row.from_staff_no}) to {to_unit_code} "
                   f"({row.staff_no}) on {row.transfer_date}; new person id {row.person_id}"
                   + (f"; account moved, {len(row.grants_revoked or [])} grant(s) revoked" if row.account_id else ""))
