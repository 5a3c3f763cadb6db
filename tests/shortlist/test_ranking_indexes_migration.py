"""infra/db/migrations/007_shortlist_ranking_indexes.sql: the paused-profile
index exists after migrating, a second run changes nothing, an equivalent
index under another name (as Supabase may have) is not duplicated, and long
skill names and job titles can still be written."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

MIGRATION = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations" / "007_shortlist_ranking_indexes.sql"
NAME = "candidate_profiles_paused_user_idx"
DEFINITION = "ON public.candidate_profiles USING btree (user_id) WHERE (paused_at IS NOT NULL)"


@pytest.fixture
def conn(database_url):
    """A connection inside a transaction, rolled back afterwards."""
    with psycopg.connect(database_url) as connection:
        yield connection
        connection.rollback()


def indexes(conn) -> dict[str, str]:
    rows = conn.execute(
        "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'candidate_profiles'"
    ).fetchall()
    return {name: definition for name, definition in rows}


def test_migrated_database_has_the_index(conn):
    assert indexes(conn)[NAME].endswith(DEFINITION)


def test_second_run_changes_nothing(conn):
    before = indexes(conn)
    conn.execute(MIGRATION.read_text())
    assert indexes(conn) == before


def test_an_equivalent_index_under_another_name_is_not_duplicated(conn):
    conn.execute(f"drop index public.{NAME}")
    conn.execute("create index prod_paused_profiles on public.candidate_profiles (user_id) where paused_at is not null")
    conn.execute(MIGRATION.read_text())
    found = indexes(conn)
    assert NAME not in found and found["prod_paused_profiles"].endswith(DEFINITION)
    conn.execute("drop index public.prod_paused_profiles")
    conn.execute(MIGRATION.read_text())
    assert indexes(conn)[NAME].endswith(DEFINITION)


def test_long_skill_names_and_job_titles_can_still_be_written(conn):
    """No index holds these unbounded texts (a btree entry is limited to 2,704 bytes)."""
    import secrets

    user = conn.execute(
        "insert into auth.users (id, email) values (gen_random_uuid(), 'long@example.test') returning id"
    ).fetchone()[0]
    text = secrets.token_hex(4000)  # 8,000 characters that do not compress
    conn.execute("insert into candidate_skills (user_id, skill_name, skill_type) values (%s, %s, 'hard')", (user, text))
    conn.execute(
        """insert into employment_history (user_id, company_name, job_title, start_date)
                    values (%s, 'Co', %s, '2020-01-01')""",
        (user, text),
    )
