"""Helpers for the database tests: the seed (two organisations, their members,
candidates and the whole interview chain) and switching to a Supabase role."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace


def seed(conn) -> SimpleNamespace:
    s = SimpleNamespace(
        **{
            k: uuid.uuid4()
            for k in (
                "admin_a",
                "viewer_a",
                "recruiter_a",
                "admin_b",
                "cand1",
                "cand2",
                "outsider",
                "org_a",
                "org_b",
                "role_a_active",
                "role_a_draft",
                "role_b_active",
                "role_b_closed",
                "app1",
                "app2",
                "iv1",
                "iv2",
                "score1",
                "score2",
                "seg1",
                "seg2",
                "dim1",
                "dim2",
                "inv1",
                "inv2",
                "profile1",
                "profile2",
                "dei1",
                "dei2",
                "skill1",
                "skill2",
                "audit_a",
                "audit_b",
                "practice1",
            )
        }
    )
    x = conn.execute
    for user in ("admin_a", "viewer_a", "recruiter_a", "admin_b", "cand1", "cand2", "outsider"):
        x("insert into auth.users (id, email) values (%s, %s)", (getattr(s, user), f"{user}@example.test"))
    x("insert into organisations (id, name) values (%s, 'Org A'), (%s, 'Org B')", (s.org_a, s.org_b))
    x(
        """insert into org_users (organisation_id, user_id, role, created_at) values
           (%s, %s, 'admin', '2024-01-01'), (%s, %s, 'viewer', '2024-01-01'),
           (%s, %s, 'recruiter', '2024-01-01'), (%s, %s, 'admin', '2024-01-01'),
           (%s, %s, 'member', '2024-06-01')""",
        (
            s.org_a,
            s.admin_a,
            s.org_a,
            s.viewer_a,
            s.org_a,
            s.recruiter_a,
            s.org_b,
            s.admin_b,
            s.org_a,
            s.admin_b,
        ),  # admin_b joined org A later: their first org is B
    )
    x(
        """insert into job_roles (id, organisation_id, title, status) values
           (%s, %s, 'A active', 'active'), (%s, %s, 'A draft', 'draft'),
           (%s, %s, 'B active', 'active'), (%s, %s, 'B closed', 'closed')""",
        (s.role_a_active, s.org_a, s.role_a_draft, s.org_a, s.role_b_active, s.org_b, s.role_b_closed, s.org_b),
    )
    x(
        "insert into applications (id, job_role_id, candidate_id) values (%s, %s, %s), (%s, %s, %s)",
        (s.app1, s.role_a_active, s.cand1, s.app2, s.role_b_active, s.cand2),
    )
    x("insert into interviews (id, application_id) values (%s, %s), (%s, %s)", (s.iv1, s.app1, s.iv2, s.app2))
    x(
        "insert into interview_scores (id, interview_id, overall_score) values (%s, %s, 70), (%s, %s, 80)",
        (s.score1, s.iv1, s.score2, s.iv2),
    )
    x(
        """insert into transcript_segments (id, interview_id, speaker, content, start_time_ms)
         values (%s, %s, 'ai', 'Hello', 0), (%s, %s, 'candidate', 'Hi', 10)""",
        (s.seg1, s.iv1, s.seg2, s.iv2),
    )
    x(
        "insert into score_dimensions (id, interview_id, dimension, score) values (%s, %s, 'x', 7), (%s, %s, 'x', 8)",
        (s.dim1, s.iv1, s.dim2, s.iv2),
    )
    x(
        """insert into invitations (id, application_id, token, expires_at)
         values (%s, %s, %s, now() + interval '7 days'), (%s, %s, %s, now() + interval '7 days')""",
        (s.inv1, s.app1, uuid.uuid4().hex, s.inv2, s.app2, uuid.uuid4().hex),
    )
    x(
        "insert into candidate_profiles (id, user_id, first_name) values (%s, %s, 'One'), (%s, %s, 'Two')",
        (s.profile1, s.cand1, s.profile2, s.cand2),
    )
    x(
        "insert into candidate_dei (id, user_id, gender) values (%s, %s, 'x'), (%s, %s, 'y')",
        (s.dei1, s.cand1, s.dei2, s.cand2),
    )
    x(
        """insert into candidate_skills (id, user_id, skill_name, skill_type)
         values (%s, %s, 'SQL', 'hard'), (%s, %s, 'Talking', 'soft')""",
        (s.skill1, s.cand1, s.skill2, s.cand2),
    )
    x(
        """insert into audit_log (id, organisation_id, user_id, action, entity_type)
         values (%s, %s, %s, 'update', 'job_role'), (%s, %s, %s, 'update', 'job_role')""",
        (s.audit_a, s.org_a, s.admin_a, s.audit_b, s.org_b, s.admin_b),
    )
    x(
        "insert into practice_interviews (id, user_id, sample_role_type) values (%s, %s, 'graduate')",
        (s.practice1, s.cand1),
    )
    x("insert into user_roles (user_id, role) values (%s, 'candidate'), (%s, 'org_admin')", (s.cand1, s.admin_a))
    return s


def act_as(conn, user_id, role: str = "authenticated") -> None:
    """Switch to a Supabase role with a JWT for `user_id` (for this transaction)."""
    conn.execute("reset role")
    conn.execute(f"set local role {role}")
    claims = {"role": role} if user_id is None else {"sub": str(user_id), "role": role}
    conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))


def as_backend(conn) -> None:
    """Back to the backend's own connection: the superuser, and no JWT claims."""
    conn.execute("reset role")
    conn.execute("select set_config('request.jwt.claims', '', true)")
