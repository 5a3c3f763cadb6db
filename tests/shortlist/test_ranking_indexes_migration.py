"""infra/db/migrations/007_shortlist_ranking_indexes.sql: the ranking's indexes
exist after migrating, a second run changes nothing, and an equivalent index
under another name (as Supabase may have) is not duplicated."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

MIGRATION = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations" / "007_shortlist_ranking_indexes.sql"
EXPECTED = {
    "candidate_profiles_paused_user_idx": "ON public.candidate_profiles USING btree (user_id) WHERE (paused_at IS NOT NULL)",
    "candidate_skills_user_skill_idx": "ON public.candidate_skills USING btree (user_id, skill_name)",
    "employment_history_user_ranking_idx":
        "ON public.employment_history USING btree (user_id) INCLUDE (start_date, end_date, is_current, job_title)",
}
TABLES = ("candidate_profiles", "candidate_skills", "employment_history")


@pytest.fixture
def conn(database_url):
    """A connection inside a transaction, rolled back afterwards."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


def indexes(conn) -> dict[str, str]:
    rows = conn.execute("select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = any(%s)",
                        (list(TABLES),)).fetchall()
    return {name: definition for name, definition in rows}


def test_migrated_database_has_the_indexes(conn):
    found = indexes(conn)
    for name, tail in EXPECTED.items():
        assert found[name].endswith(tail), name


def test_second_run_changes_nothing(conn):
    before = indexes(conn)
    conn.execute(MIGRATION.read_text())
    assert indexes(conn) == before


def test_an_equivalent_index_under_another_name_is_not_duplicated(conn):
    conn.execute("drop index public.candidate_skills_user_skill_idx")
    conn.execute("create index prod_skills_by_user on public.candidate_skills (user_id, skill_name)")
    conn.execute("drop index public.candidate_profiles_paused_user_idx")
    conn.execute(MIGRATION.read_text())
    found = indexes(conn)
    assert "candidate_skills_user_skill_idx" not in found and "prod_skills_by_user" in found
    assert found["candidate_profiles_paused_user_idx"].endswith(EXPECTED["candidate_profiles_paused_user_idx"])
