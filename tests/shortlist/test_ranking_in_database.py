"""The ranking computed by PostgreSQL equals the reference (the Python pre-ranking
it replaced, tests/shortlist/reference.py) on generated data: same applicants,
same order, same scores and features, same details; paused profiles left out,
DEI never read, the text rules equal Python's for every character."""

from __future__ import annotations

import itertools
import sys

import psycopg
import pytest
from psycopg import errors

from shared.shortlist import queries
from shared.shortlist import service as shortlist
from tests.ai.counting import CountingDatabase
from tests.ai.seed import add_profile, add_score, create_application, create_org, create_role
from tests.shortlist import generated, reference
from tests.support import create_user


def _facts(applicant) -> tuple:
    return (
        applicant.application_id,
        applicant.candidate_id,
        applicant.created_at,
        applicant.score,
        applicant.best_score,
        applicant.matched,
        applicant.years,
        applicant.related,
        applicant.skills,
        applicant.jobs,
        applicant.availability,
        applicant.work_mode,
        applicant.location,
    )


def assert_same_ranking(actual: list, expected: list) -> None:
    assert len(actual) == len(expected)
    for place, (mine, theirs) in enumerate(zip(actual, expected)):
        assert _facts(mine) == _facts(theirs), f"place {place} differs"


@pytest.fixture(scope="module")
async def seeded(db):
    """Every role of generated.ROLES with 150 applicants; the second role's also
    include 20 of the first role's candidates (their other applications and
    interviews must not count)."""
    recruiter = await create_user(db)
    org = await create_org(db, recruiter)
    roles, first_candidates = {}, []
    for seed, (name, (title, requirements)) in enumerate(generated.ROLES.items()):
        role, candidates = await generated.seed_role(
            db, org, title, requirements, 150, seed=seed, also_applied=first_candidates[:20]
        )
        first_candidates = first_candidates or candidates
        roles[name] = role
    return recruiter, roles


@pytest.mark.parametrize("name", list(generated.ROLES))
async def test_ranking_equals_the_reference(db, seeded, name):
    recruiter, roles = seeded
    role, applicants = await reference.load_applicants(db, recruiter, roles[name])
    expected = reference.pre_rank(role, applicants, generated.TODAY)

    everyone = await shortlist.rank_applicants(db, recruiter, roles[name], top=10_000, today=generated.TODAY)
    assert everyone.applicants == len(expected) > 100
    assert_same_ranking(everyone.leaders, expected)

    leaders = await shortlist.rank_applicants(db, recruiter, roles[name], top=20, today=generated.TODAY)
    assert leaders.applicants == len(expected)
    assert_same_ranking(leaders.leaders, expected[:20])


async def test_the_generated_data_exercises_ties_and_missing_data(db, seeded):
    """The comparison above is only as good as its data: check it holds the cases
    that tell implementations apart."""
    recruiter, roles = seeded
    role, applicants = await reference.load_applicants(db, recruiter, roles["frontend"])
    ranked = reference.pre_rank(role, applicants, generated.TODAY)
    pairs = list(itertools.pairwise(ranked))
    assert sum(a.score == b.score for a, b in pairs) > 50  # score ties...
    assert any(a.score == b.score and a.best_score != b.best_score for a, b in pairs)  # ...broken by interview
    assert any(
        a.score == b.score and a.best_score == b.best_score and a.created_at != b.created_at for a, b in pairs
    )  # ...then by application time
    assert any(
        a.score == b.score and a.best_score == b.best_score and a.created_at == b.created_at for a, b in pairs
    )  # ...then by id
    half = [a for a in ranked if _exact(a) % 1 == 0.5]
    assert {a.score % 2 for a in half} == {0}  # halves round to even (12.5 -> 12, 13.5 -> 14)
    assert len({_exact(a) for a in half}) > 3
    assert any(not a.skills for a in ranked) and any(not a.jobs for a in ranked)
    assert any(a.best_score is None for a in ranked) and any(a.location is None for a in ranked)
    assert any(a.years < 0 for a in ranked) or any(j["start_date"] > generated.TODAY for a in ranked for j in a.jobs)
    paused = await db.fetch_one(
        """select count(*) as n from applications a join candidate_profiles p on p.user_id = a.candidate_id
            where a.job_role_id = %s and p.paused_at is not null""",
        (roles["frontend"],),
    )
    assert paused["n"] > 5
    ranked_ids = {a.application_id for a in ranked}
    leaked = await db.fetch_all(
        """select a.id from applications a join candidate_profiles p on p.user_id = a.candidate_id
            where a.job_role_id = %s and p.paused_at is not null""",
        (roles["frontend"],),
    )
    assert not ranked_ids & {row["id"] for row in leaked}


def _exact(applicant) -> float:
    """The reference's unrounded score (its formula, written out again)."""
    w = reference.WEIGHTS
    required = 4  # the frontend role
    return 100 * (
        w["skills"] * len(applicant.matched) / required
        + w["interview"] * (applicant.best_score / 100 if applicant.best_score is not None else 0.5)
        + w["experience"] * min(applicant.years, 10) / 10
        + w["title"] * applicant.related
    )


async def test_paused_no_profile_and_missing_data_by_hand(db):
    """Expected values worked out by hand, independent of the reference."""
    recruiter = await create_user(db)
    role = await create_role(db, await create_org(db, recruiter))  # requires React, TypeScript, GraphQL
    empty, _ = await create_application(db, role)  # no profile, skills, interviews or employment
    paused, paused_candidate = await create_application(db, role)
    await add_profile(db, paused_candidate, paused=True, skills=["React", "TypeScript", "GraphQL"])
    scored, scored_candidate = await create_application(db, role)
    await add_profile(db, scored_candidate, skills=["reactjs"], state=None)  # location: the suburb
    await add_score(db, scored, 30)
    await add_score(db, scored, 90)

    ranking = await shortlist.rank_applicants(db, recruiter, role, top=20)
    assert ranking.applicants == 2 and [a.application_id for a in ranking.leaders] == [scored, empty]
    assert paused not in {a.application_id for a in ranking.leaders}
    first, last = ranking.leaders
    # 100 * (0.45 * 1/3 + 0.25 * 0.9) = 37.5 -> 38 (even); 100 * 0.25 * 0.5 = 12.5 -> 12 (even)
    assert (first.score, first.best_score, first.matched, first.location) == (38, 90, ["React"], "Surry Hills")
    assert (last.score, last.best_score, last.matched, last.skills, last.jobs) == (12, None, [], [], [])
    assert (last.years, last.related, last.availability) == (0.0, False, None)


async def test_statements_do_not_grow_with_applicants(db):
    recruiter = await create_user(db)
    org = await create_org(db, recruiter)
    counts = []
    for size, seed in ((2, 11), (120, 12)):
        role, _ = await generated.seed_role(db, org, *generated.ROLES["frontend"], size, seed=seed)
        counting = CountingDatabase(db)
        ranking = await shortlist.rank_applicants(counting, recruiter, role, top=20)
        assert ranking.applicants > 0
        counts.append(counting.queries)
    assert counts == [3, 3]


class _LockTimeoutDatabase:
    """The app's Database, with every statement giving up after 1 s waiting for a lock."""

    def __init__(self, db):
        self.db = db

    def connection(self):
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def connection():
            async with self.db.connection() as conn:
                await conn.execute("set lock_timeout = '1s'")
                try:
                    yield conn
                finally:
                    await conn.execute("reset lock_timeout")

        return connection()


async def test_dei_is_never_read(db, database_url, seeded):
    """With candidate_dei locked against every reader, ranking still works; a
    statement that did read it would time out (checked first)."""
    recruiter, roles = seeded
    guarded = _LockTimeoutDatabase(db)
    with psycopg.connect(database_url) as locker:
        locker.execute("lock table public.candidate_dei in access exclusive mode")
        with pytest.raises(errors.LockNotAvailable):
            async with guarded.connection() as conn:
                await conn.execute("select count(*) from public.candidate_dei")
        ranking = await shortlist.rank_applicants(guarded, recruiter, roles["frontend"], top=50, today=generated.TODAY)
        locker.rollback()
    assert len(ranking.leaders) == 50


async def test_text_rules_equal_pythons_for_every_character(db):
    """Every code point that lower-cases to something else lies below U+20000; for
    each of those, in blocks of 256 separated by spaces, the SQL rules give what
    Python's lower() and the reference's pattern give (squashed and word lists)."""
    last = 0x1FFFF
    assert all(chr(code).lower() == chr(code) for code in range(last + 1, sys.maxunicode + 1))

    def block(start: int) -> str:
        return " ".join(chr(c) for c in range(max(start, 1), start + 256) if not 0xD800 <= c <= 0xDFFF)

    python = {}
    for start in range(0, last + 1, 256):
        lowered = block(start).lower()
        if not lowered:
            continue  # all surrogates
        python[start] = (reference._NON_WORD.sub("", lowered), reference._NON_WORD.sub(" ", lowered).split())
    rows = await db.fetch_all(
        f"""select start, {queries.squashed_sql("t.text")} as squashed, {queries.words_sql("t.text")} as words
              from (select code / 256 * 256 as start, string_agg(chr(code), ' ' order by code) as text
                      from generate_series(1, {last}) code
                     where code not between 55296 and 57343
                     group by code / 256) t"""
    )
    sql = {row["start"]: (row["squashed"], row["words"]) for row in rows}
    assert sql.keys() == python.keys()
    assert [start for start in python if sql[start] != python[start]] == []
    assert python[0x100][0] == "i" and python[0x2100][0] == "k"  # U+0130 and U+212A (Kelvin) are in


@pytest.mark.parametrize(
    "text, squashed, words",
    [
        ("React.js", "reactjs", ["react", "js"]),
        ("  C++ / C# ", "c++c#", ["c++", "c#"]),
        ("", "", []),
        ("---", "", []),
        ("\u0130stanbul", "istanbul", ["i", "stanbul"]),
        ("\u212aubernetes", "kubernetes", ["kubernetes"]),
    ],
)
async def test_text_rules_on_whole_texts(db, text, squashed, words):
    row = await db.fetch_one(
        f"select {queries.squashed_sql('%(t)s::text')} as s, {queries.words_sql('%(t)s::text')} as w", {"t": text}
    )
    assert (row["s"], row["w"]) == (squashed, words)
    assert (reference._NON_WORD.sub("", text.lower()), list(reference.words(text))) == (squashed, words)
