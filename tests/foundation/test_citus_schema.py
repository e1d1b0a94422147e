"""The schema stays distributable by root_id (Citus): every tenant table's primary
key and unique constraints include root_id, every foreign key between tenant
tables pairs root_id with root_id, and every table without root_id is declared
a reference or a coordinator-only table (kaohe.core.citus).  Checked on the
migrated PostgreSQL database, plus the checker itself on made-up catalogs."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from kaohe.core import citus
from kaohe.core.citus import Key


@pytest.mark.pg
def test_migrated_postgres_schema_is_distributable(pg_database, backend):
    eng = create_engine(pg_database["owner_url"])
    try:
        with eng.connect() as conn:
            tables, keys = citus.catalog(conn)
    finally:
        eng.dispose()
    assert citus.violations(tables, keys) == []
    # The ones that matter most are really there.
    assert tables["person"] == "distributed" and tables["org_node"] == "reference"
    pk = {k.table: k.cols for k in keys if k.kind == "p"}
    assert pk["person"] == ["id", "root_id"] and pk["routine_result"] == ["id", "root_id"]
    uniques = {k.name: k.cols for k in keys if k.kind == "u"}
    assert uniques["uq_person_root_id_unit_id_staff_no"] == ["root_id", "unit_id", "staff_no"]


def _ok():
    tables = {"org_node": "reference", "person": "distributed", "result": "distributed",
              "login_throttle": "coordinator"}
    keys = [Key("person", "pk_person", "p", ["id", "root_id"]),
            Key("result", "pk_result", "p", ["id", "root_id"]),
            Key("person", "uq_person_root_id_id", "u", ["root_id", "id"]),
            Key("result", "fk_result_person", "f", ["root_id", "person_id"], "person", ["root_id", "id"]),
            Key("result", "fk_result_org", "f", ["org_id"], "org_node", ["id"])]
    return tables, keys


def test_checker_passes_a_good_schema():
    assert citus.violations(*_ok()) == []


@pytest.mark.parametrize("bad, needle", [
    (Key("result", "pk_result", "p", ["id"]), "primary key pk_result (id) does not include root_id"),
    (Key("person", "uq_person_staff", "u", ["unit_id", "staff_no"]), "unique constraint uq_person_staff"),
    (Key("person", "ix_person_code", "i", ["code"]), "unique index ix_person_code"),
    (Key("result", "fk_r_p", "f", ["person_id"], "person", ["id"]), "does not pair root_id"),
    (Key("result", "fk_r_p2", "f", ["root_id", "person_id"], "person", ["id", "root_id"]), "does not pair root_id"),
    (Key("result", "fk_r_t", "f", ["username"], "login_throttle", ["username"]), "coordinator-only"),
    (Key("org_node", "fk_o_p", "f", ["person_id"], "person", ["id"]), "reference table with a foreign key"),
])
def test_checker_names_each_broken_rule(bad, needle):
    tables, keys = _ok()
    found = citus.violations(tables, keys + [bad])
    assert len(found) == 1 and needle in found[0], found


def test_checker_names_an_undeclared_global_table():
    tables, keys = _ok()
    tables["settings_registry"] = citus.kind_of("settings_registry", has_root_id=False)
    found = citus.violations(tables, keys)
    assert found and "settings_registry: has no root_id and is not declared" in found[0]
