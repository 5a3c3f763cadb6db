"""Every table, blob prefix and store holding candidate data has an erase and an
anonymise rule: the tables are found in the live, migrated schema (not listed by
hand), so a new table holding candidate data fails here until shared/retention/rules.py
says what erasure and anonymisation do to it; and the deletion code runs exactly
those rules."""

import pytest

from shared.retention import deletion_requests, queries
from shared.retention.rules import STORE_RULES, TABLE_RULES

SCHEMAS = ("public", "app")
# Columns that name a candidate, an application or an interview even without a foreign key.
CANDIDATE_COLUMNS = ("user_id", "candidate_id", "application_id", "interview_id")

# Tables with a foreign key to auth.users, then (repeatedly) every table with a foreign key
# to one of those; plus every table with a column that names a person, an application or
# an interview, foreign key or not.
_HOLDING_CANDIDATE_DATA = """
with recursive fks as (
    select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent
      from pg_constraint c
     where c.contype = 'f'
),
holding(table_name) as (
    select child from fks where parent = 'auth.users'
    union
    select f.child from fks f join holding h on f.parent = h.table_name
)
select table_name from holding
union
select table_schema || '.' || table_name from information_schema.columns
 where table_schema = any(%(schemas)s) and column_name = any(%(columns)s)
"""


async def tables_holding_candidate_data(conn) -> set[str]:
    cur = await conn.execute(_HOLDING_CANDIDATE_DATA, {"columns": list(CANDIDATE_COLUMNS), "schemas": list(SCHEMAS)})
    names = {row["table_name"] if isinstance(row, dict) else row[0] for row in await cur.fetchall()}
    # regclass prints public tables without their schema.
    return {name if "." in name else f"public.{name}" for name in names if not name.startswith("auth.")}


async def test_every_table_holding_candidate_data_has_an_erase_and_an_anonymise_rule(db):
    async with db.connection() as conn:
        found = await tables_holding_candidate_data(conn)
    ruled = {rule.table for rule in TABLE_RULES}
    assert found - ruled == set(), "tables holding candidate data without a rule in shared/retention/rules.py"
    # The query finds them: through foreign keys (transitively) and by column names.
    assert {"public.transcript_segments", "public.score_dimensions", "app.acs_identities"} <= found
    assert "app.processed_events" in found
    for rule in TABLE_RULES:
        # Each side either changes the table or says why it is left as it is.
        assert rule.erase or rule.kept_because, rule.table
        assert rule.anonymise or rule.kept_because, rule.table
        for sql in (rule.erase, rule.anonymise):
            assert sql is None or rule.table in sql, f"{rule.table}'s rule changes another table"


class Undo(Exception):
    pass


async def test_a_new_table_holding_candidate_data_without_a_rule_fails(db):
    """The check above is not a tautology: a table added by a migration is found
    (created in a transaction that is rolled back)."""
    found: set[str] = set()
    with pytest.raises(Undo):
        async with db.transaction() as conn:
            await conn.execute(
                "create table public.zz_interview_notes (id uuid primary key,"
                " note_of uuid references public.interviews(id))"
            )
            await conn.execute("create table app.zz_candidate_files (owner uuid references auth.users(id), path text)")
            found = await tables_holding_candidate_data(conn)
            raise Undo
    assert {"public.zz_interview_notes", "app.zz_candidate_files"} <= found - {r.table for r in TABLE_RULES}


def test_the_deletion_code_runs_the_registry():
    erase = [(rule.name, rule.erase) for rule in TABLE_RULES if rule.erase]
    anonymise = [(rule.name, rule.anonymise) for rule in TABLE_RULES if rule.anonymise]
    assert list(queries._DELETE_CANDIDATE_DATA) == erase
    assert list(queries._ANONYMISE_CANDIDATE) == anonymise


@pytest.mark.parametrize("rule", STORE_RULES, ids=lambda rule: rule.store)
def test_every_store_holding_candidate_data_has_its_erasure_step(rule):
    assert rule.erase and rule.anonymise and rule.where
    assert rule.store in deletion_requests.STORE_STEPS


def test_every_erasure_step_is_a_declared_store():
    assert set(deletion_requests.STORE_STEPS) == {rule.store for rule in STORE_RULES}
    # The places outside the database: recordings, the CV folder (a blob prefix), the task hub.
    assert {"recordings", "cv_folder", "task_hub"} <= set(deletion_requests.STORE_STEPS)
