"""Human score overrides (infra/db/migrations/009_human_overrides.sql): a
person's score is stored as human, with the reviewer the JWT names, and leaves
one audit_log entry; the AI upsert, retention's anonymisation and other
updates pass untouched and unaudited; RLS still decides who may override.

The seed (tests/db/helpers.py): score1 is the AI's 70 for interview iv1 of
org A; admin_a administers org A, recruiter_a and viewer_a are its other
members, cand1 is iv1's candidate.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from psycopg import errors
from psycopg.rows import dict_row

from shared.retention.rules import TABLE_RULES
from shared.scoring.queries import UPSERT_AI_SCORE_SQL
from tests.db.helpers import act_as, as_backend

MIGRATION = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations" / "009_human_overrides.sql"
OVERRIDE = "interview_score.human_override"
WITHDRAWN = "interview_score.human_override_withdrawn"
ANONYMISE_SCORES = next(rule.anonymise for rule in TABLE_RULES if rule.table == "public.interview_scores")


def score_row(conn, score_id) -> dict:
    conn.execute("reset role")
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """select overall_score, scored_by, human_override, human_override_by, human_override_reason
                 from interview_scores where id = %s""",
            (score_id,),
        )
        .fetchone()
    )


def audits(conn, interview_id) -> list[dict]:
    """The score's audit entries, read as the superuser (after `reset role`)."""
    conn.execute("reset role")
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            """select user_id, organisation_id, action, entity_type, entity_id, old_values, new_values
                 from audit_log where entity_type = 'interview_score' and entity_id = %s
                order by created_at, action""",
            (interview_id,),
        )
        .fetchall()
    )


def override(conn, s, score: int = 85, reason: str = "Panel review", **extra) -> int:
    """The frontend's override: an UPDATE of the score row, under RLS."""
    columns = {"human_override": True, "overall_score": score, "human_override_reason": reason, **extra}
    assignments = ", ".join(f"{name} = %({name})s" for name in columns)
    return conn.execute(
        f"update interview_scores set {assignments} where id = %(id)s", {**columns, "id": s.score1}
    ).rowcount


def ai_upsert(conn, interview_id, overall: int):
    """The scoring service's upsert, on the backend's connection (no JWT)."""
    as_backend(conn)
    return conn.execute(
        UPSERT_AI_SCORE_SQL,
        {
            "interview_id": interview_id,
            "overall_score": overall,
            "narrative_summary": "Model's view",
            "candidate_feedback": "Model's feedback",
            "anti_cheat_risk_level": "low",
            "model_version": "m-2",
            "prompt_version": "p-2",
            "rubric_version": "r-2",
        },
    ).fetchone()


def test_an_org_admin_override_is_stored_as_theirs_and_audited(conn, s):
    conn.execute("update interview_scores set scored_by = 'ai' where id = %s", (s.score1,))
    act_as(conn, s.admin_a)
    assert override(conn, s, score=85, reason="Panel review") == 1
    assert score_row(conn, s.score1) == {
        "overall_score": 85,
        "scored_by": str(s.admin_a),
        "human_override": True,
        "human_override_by": s.admin_a,
        "human_override_reason": "Panel review",
    }
    assert audits(conn, s.iv1) == [
        {
            "user_id": s.admin_a,
            "organisation_id": s.org_a,
            "action": OVERRIDE,
            "entity_type": "interview_score",
            "entity_id": s.iv1,
            "old_values": {"overall_score": 70, "scored_by": "ai", "human_override": False},
            "new_values": {
                "overall_score": 85,
                "scored_by": str(s.admin_a),
                "human_override": True,
                "reason_given": True,  # never the text: the audit log outlives erasure
            },
        }
    ]


def test_the_body_cannot_name_another_reviewer_or_relabel_the_score(conn, s):
    act_as(conn, s.admin_a)
    assert override(conn, s, human_override_by=s.viewer_a, scored_by="ai") == 1
    row = score_row(conn, s.score1)
    assert row["human_override_by"] == s.admin_a and row["scored_by"] == str(s.admin_a)
    assert [a["user_id"] for a in audits(conn, s.iv1)] == [s.admin_a]
    # Later, other columns only: the reviewer and scored_by stay the trigger's.
    act_as(conn, s.admin_a)
    conn.execute(
        "update interview_scores set scored_by = 'ai', human_override_by = %s, human_override_reason = 'typo'"
        " where id = %s",
        (s.viewer_a, s.score1),
    )
    row = score_row(conn, s.score1)
    assert (row["scored_by"], row["human_override_by"], row["human_override_reason"]) == (
        str(s.admin_a),
        s.admin_a,
        "typo",
    )
    assert len(audits(conn, s.iv1)) == 1


def test_a_users_score_change_without_the_flag_is_an_override_all_the_same(conn, s):
    act_as(conn, s.admin_a)
    conn.execute("update interview_scores set overall_score = 40 where id = %s", (s.score1,))
    row = score_row(conn, s.score1)
    assert (row["human_override"], row["scored_by"], row["overall_score"]) == (True, str(s.admin_a), 40)
    assert [a["action"] for a in audits(conn, s.iv1)] == [OVERRIDE]


def test_a_changed_override_score_is_audited_again(conn, s):
    act_as(conn, s.admin_a)
    override(conn, s, score=85)
    act_as(conn, s.admin_b)  # a member of org A too, but not its admin: RLS says no
    assert conn.execute("update interview_scores set overall_score = 90 where id = %s", (s.score1,)).rowcount == 0
    act_as(conn, s.admin_a)
    conn.execute("update interview_scores set overall_score = 90 where id = %s", (s.score1,))
    entries = audits(conn, s.iv1)
    assert [(a["action"], a["old_values"]["overall_score"], a["new_values"]["overall_score"]) for a in entries] == [
        (OVERRIDE, 70, 85),
        (OVERRIDE, 85, 90),
    ]


def test_a_backend_override_records_the_reviewer_it_names_and_needs_one(conn, s):
    # The backend's own connection (no JWT) and the service role alike.
    assert override(conn, s, score=60, human_override_by=s.recruiter_a) == 1
    row = score_row(conn, s.score1)
    assert (row["human_override_by"], row["scored_by"]) == (s.recruiter_a, str(s.recruiter_a))
    assert [(a["user_id"], a["organisation_id"]) for a in audits(conn, s.iv1)] == [(s.recruiter_a, s.org_a)]

    unscored = _new_interview(conn, s)
    act_as(conn, None, role="service_role")
    with pytest.raises(errors.CheckViolation, match="names its reviewer"), conn.transaction():
        conn.execute("update interview_scores set human_override = true where id = %s", (s.score2,))
    with pytest.raises(errors.CheckViolation, match="names its reviewer"), conn.transaction():
        conn.execute(
            "insert into interview_scores (interview_id, overall_score, human_override) values (%s, 50, true)",
            (unscored,),
        )
    conn.execute(
        "update interview_scores set human_override = true, human_override_by = %s where id = %s",
        (s.admin_b, s.score2),
    )
    assert [(a["user_id"], a["organisation_id"]) for a in audits(conn, s.iv2)] == [(s.admin_b, s.org_b)]


def test_an_insert_as_an_override_is_audited_without_old_values(conn, s):
    interview = _new_interview(conn, s)
    conn.execute(
        "insert into interview_scores (interview_id, overall_score, human_override, human_override_by,"
        " human_override_reason) values (%s, 77, true, %s, 'Phone screen')",
        (interview, s.admin_a),
    )
    [entry] = audits(conn, interview)
    assert entry["old_values"] is None and entry["organisation_id"] == s.org_a
    assert entry["new_values"]["reason_given"] is True
    assert "Phone screen" not in str(entry)  # the reason may describe the person


def _new_interview(conn, s) -> uuid.UUID:
    """Another interview of cand1's application to org A, with no score yet."""
    conn.execute("reset role")
    return conn.execute("insert into interviews (application_id) values (%s) returning id", (s.app1,)).fetchone()[0]


def test_anonymisation_and_the_ai_upsert_leave_an_override_alone(conn, s):
    act_as(conn, s.admin_a)
    override(conn, s, score=85, reason="Said their name")
    before = score_row(conn, s.score1)
    as_backend(conn)
    conn.execute(ANONYMISE_SCORES, {"user": s.cand1})  # retention, as the backend runs it
    after = score_row(conn, s.score1)
    assert after == {**before, "human_override_reason": None}
    assert ai_upsert(conn, s.iv1, 30) is None  # nothing written
    assert score_row(conn, s.score1) == after
    assert len(audits(conn, s.iv1)) == 1
    # A score nobody overrode: the AI's upsert writes it, unaudited.
    assert ai_upsert(conn, s.iv2, 64) is not None
    assert score_row(conn, s.score2)["scored_by"] == "ai" and audits(conn, s.iv2) == []


def test_withdrawing_an_override_is_audited_and_keeps_scored_by(conn, s):
    act_as(conn, s.admin_a)
    override(conn, s, score=85)
    act_as(conn, s.admin_a)
    assert conn.execute("update interview_scores set human_override = false where id = %s", (s.score1,)).rowcount == 1
    row = score_row(conn, s.score1)
    assert (row["human_override"], row["scored_by"]) == (False, str(s.admin_a))
    withdrawn = audits(conn, s.iv1)[-1]
    assert (withdrawn["action"], withdrawn["user_id"], withdrawn["organisation_id"]) == (WITHDRAWN, s.admin_a, s.org_a)
    assert withdrawn["old_values"]["human_override"] is True and withdrawn["new_values"]["human_override"] is False
    # The next AI rescore takes the row back as the model's.
    assert ai_upsert(conn, s.iv1, 72) is not None
    assert score_row(conn, s.score1)["scored_by"] == "ai"
    assert len(audits(conn, s.iv1)) == 2


def test_a_backend_withdrawal_is_attributed_to_the_reviewer(conn, s):
    override(conn, s, human_override_by=s.admin_a)
    conn.execute("update interview_scores set human_override = false where id = %s", (s.score1,))
    assert [(a["action"], a["user_id"]) for a in audits(conn, s.iv1)] == [(OVERRIDE, s.admin_a), (WITHDRAWN, s.admin_a)]


@pytest.mark.parametrize("who", ["recruiter_a", "viewer_a", "admin_b", "cand1", "outsider"])
def test_only_the_organisations_admins_may_override(conn, s, who):
    act_as(conn, getattr(s, who))
    assert override(conn, s, score=99, human_override_by=getattr(s, who)) == 0
    assert score_row(conn, s.score1)["overall_score"] == 70
    assert audits(conn, s.iv1) == []
    # Nor may anyone write the audit log themselves.
    act_as(conn, getattr(s, who))
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute(
            "insert into audit_log (user_id, action, entity_type, entity_id) values (%s, %s, 'interview_score', %s)",
            (getattr(s, who), OVERRIDE, s.iv1),
        )


def test_the_trigger_function_is_security_definer_with_a_fixed_search_path(conn):
    row = conn.execute(
        """select p.prosecdef, p.proconfig from pg_proc p
            where p.oid = 'public.interview_score_human_override()'::regprocedure"""
    ).fetchone()
    assert row == (True, ["search_path=public"])
    triggers = conn.execute(
        """select pg_get_triggerdef(oid) from pg_trigger
            where tgrelid = 'public.interview_scores'::regclass and tgname = 'interview_score_human_override'"""
    ).fetchall()
    assert [t[0] for t in triggers] == [
        "CREATE TRIGGER interview_score_human_override BEFORE INSERT OR UPDATE ON public.interview_scores"
        " FOR EACH ROW EXECUTE FUNCTION interview_score_human_override()"
    ]


def test_the_migration_runs_again_without_change(conn, s):
    snapshot = """select (select pg_get_functiondef('public.interview_score_human_override()'::regprocedure)),
                         (select array_agg(pg_get_triggerdef(oid) order by tgname) from pg_trigger
                           where tgrelid = 'public.interview_scores'::regclass and not tgisinternal)"""
    before = conn.execute(snapshot).fetchone()
    conn.execute(MIGRATION.read_text())
    assert conn.execute(snapshot).fetchone() == before
    act_as(conn, s.admin_a)
    override(conn, s)
    assert len(audits(conn, s.iv1)) == 1  # one trigger, not two
