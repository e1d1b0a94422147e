"""Reading and writing many rows fast: plain tuples from a binary cursor on
PostgreSQL, id lists as one array parameter, and inserts by COPY (through a
temporary table, so the target's row-level security still applies), with
the portable SQLAlchemy equivalents elsewhere.  Used by the set-based batch
work of the slices (the annual computation, the routine feed)."""
from __future__ import annotations

import json
from typing import Sequence

from sqlalchemy import ARRAY, BigInteger, any_, bindparam, insert

from . import citus

# Ids per query: one array parameter on PostgreSQL, SQLite's parameter limit elsewhere.
IN_BATCH = {True: 20_000, False: 900}


def chunks(seq: Sequence, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def fetch_rows(conn, stmt) -> list:
    """All rows of ``stmt`` as plain tuples.  On PostgreSQL straight from a
    driver cursor in binary format: the server sends floats, dates and ints
    as they are stored instead of formatting millions of them as text for
    psycopg to parse back (the same Python values), and no SQLAlchemy Row
    objects are made.  Elsewhere SQLAlchemy's rows (which convert SQLite's
    dates)."""
    if conn.dialect.name == "postgresql":
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            cur.execute(str(compiled), compiled.construct_params())
            return cur.fetchall()
    return conn.execute(stmt).all()


def in_ids(col, ids: list[int], pg: bool):
    """``col IN (ids)``; on PostgreSQL as ``col = ANY(:array)``, one parameter
    instead of hundreds to render, bind and convert for every query."""
    if pg:
        return col == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))
    return col.in_(ids)


def copy_value(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def bulk_write(conn, table, columns: Sequence[str], rows: list[tuple] | None = None,
               lines: list | None = None) -> None:
    """Insert many rows: COPY on PostgreSQL (``lines`` in COPY text format,
    str or UTF-8 bytes, each one or more whole lines; through a temporary
    table so the row-level security checks of the target still apply),
    executemany elsewhere (``rows``)."""
    if conn.dialect.name == "postgresql":
        if lines is None:
            lines = ["\t".join(copy_value(v) for v in r) + "\n" for r in rows or []]
        if not lines:
            return
        raw = conn.connection.driver_connection
        utf8 = raw.info.encoding in ("utf-8", "utf8")
        cols = ", ".join(columns)
        tmp = f"tmp_{table.name}"
        with raw.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP")
            cur.execute(f"TRUNCATE {tmp}")
            with cur.copy(f"COPY {tmp} ({cols}) FROM STDIN") as cp:
                batch, size = [], 0
                for line in lines:
                    if isinstance(line, str):
                        line = line.encode()
                    elif not utf8:
                        line = line.decode()       # psycopg encodes str to the connection's encoding
                    batch.append(line)
                    size += len(line)
                    if size >= 1 << 20:
                        cp.write(batch[0][:0].join(batch))
                        batch, size = [], 0
                if batch:
                    cp.write(batch[0][:0].join(batch))
            if citus.is_citus(conn):    # Citus would COPY into the shards, which RLS refuses
                citus.insert_from_temp(cur, conn, table, columns, tmp)
            else:
                cur.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp}")
        return
    if rows:
        conn.execute(insert(table), [dict(zip(columns, r)) for r in rows])
