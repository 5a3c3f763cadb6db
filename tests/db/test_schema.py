"""The Supabase schema migration (infra/db/migrations/001_supabase_schema.sql)
against docs SCHEMA.md: tables, columns, enums, constraints, functions,
idempotency, and row-level security exercised for real as the `anon` and
`authenticated` roles.

Every test runs in a transaction that is rolled back: seeded rows never
reach other tests sharing the session database.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from psycopg import errors

from tests.db.helpers import act_as

MIGRATION = Path(__file__).resolve().parents[2] / "infra" / "db" / "migrations" / "001_supabase_schema.sql"


# ---------------------------------------------------------------------------
# Tables and columns (SCHEMA.md, compactly): "a, b type[!] [default]"
# where ! means NOT NULL and the default is as information_schema shows it.
# ---------------------------------------------------------------------------

ID = "id uuid! gen_random_uuid()"
CREATED = "created_at timestamptz! now()"
UPDATED = "updated_at timestamptz! now()"

TABLES: dict[str, list[str]] = {
    "organisations": [
        ID,
        "name text!",
        "description, industry, website, logo_url, billing_email, billing_address text",
        "values_framework jsonb",
        "recording_retention_days int4",
        CREATED,
        UPDATED,
    ],
    "org_users": [ID, "organisation_id, user_id uuid!", "role text! 'member'::text", CREATED],
    "job_roles": [
        ID,
        "organisation_id uuid!",
        "title text!",
        "description, department, location, work_type, employment_type, industry text",
        "salary_range_min, salary_range_max int4",
        "requirements, scoring_rubric, interview_structure jsonb",
        "status job_role_status! 'draft'::job_role_status",
        "created_by uuid",
        CREATED,
        UPDATED,
    ],
    "candidate_profiles": [
        ID,
        "user_id uuid!",
        "first_name, last_name, email, phone, suburb, state, postcode, country, linkedin_url,"
        " portfolio_url, cv_file_path text",
        "cv_uploaded_at timestamptz",
        "availability, work_mode, work_rights text",
        "gpa_wam numeric",
        "profile_visibility text",
        "visibility_settings jsonb",
        "paused_at timestamptz",
        CREATED,
        UPDATED,
    ],
    "candidate_skills": [ID, "user_id uuid!", "skill_name, skill_type text!", "proficiency_level text", CREATED],
    "education": [
        ID,
        "user_id uuid!",
        "institution, degree text!",
        "field_of_study text",
        "start_date, end_date date",
        "is_current bool false",
        CREATED,
    ],
    "employment_history": [
        ID,
        "user_id uuid!",
        "company_name, job_title text!",
        "description text",
        "start_date date!",
        "end_date date",
        "is_current bool false",
        CREATED,
    ],
    "candidate_dei": [ID, "user_id uuid!", "gender, ethnicity, disability_status, veteran_status text", CREATED],
    "applications": [
        ID,
        "job_role_id, candidate_id uuid!",
        "status text! 'applied'::text",
        "match_score int4",
        CREATED,
        UPDATED,
    ],
    "interviews": [
        ID,
        "application_id uuid!",
        "status interview_status! 'invited'::interview_status",
        "started_at, ended_at timestamptz",
        "duration_seconds int4",
        "recording_url text",
        "recording_deleted_at timestamptz",
        "anti_cheat_signals, metadata jsonb",
        CREATED,
        UPDATED,
    ],
    "transcript_segments": [
        ID,
        "interview_id uuid!",
        "speaker, content text!",
        "start_time_ms int4!",
        "end_time_ms int4",
        "confidence numeric",
        CREATED,
    ],
    "interview_scores": [
        ID,
        "interview_id uuid!",
        "overall_score int4",
        "narrative_summary, candidate_feedback, anti_cheat_risk_level, scored_by, model_version,"
        " prompt_version, rubric_version text",
        "human_override bool false",
        "human_override_by uuid",
        "human_override_reason text",
        CREATED,
        UPDATED,
    ],
    "score_dimensions": [
        ID,
        "interview_id uuid!",
        "dimension text!",
        "score numeric!",
        "weight numeric",
        "evidence text",
        "cited_quotes jsonb",
        CREATED,
    ],
    "invitations": [
        ID,
        "application_id uuid!",
        "token text!",
        "status invitation_status! 'pending'::invitation_status",
        "email_template text",
        "expires_at timestamptz!",
        "sent_at, opened_at timestamptz",
        CREATED,
    ],
    "practice_interviews": [
        ID,
        "user_id uuid!",
        "sample_role_type text!",
        "status text! 'pending'::text",
        "started_at, ended_at timestamptz",
        "duration_seconds int4",
        "feedback jsonb",
        CREATED,
    ],
    "user_roles": [ID, "user_id uuid!", "role app_role!", CREATED],
    "audit_log": [
        ID,
        "user_id, organisation_id uuid",
        "action, entity_type text!",
        "entity_id uuid",
        "old_values, new_values jsonb",
        "ip_address text",
        CREATED,
    ],
    "data_deletion_requests": [
        ID,
        "user_id uuid!",
        "request_type text! 'full_deletion'::text",
        "status text! 'pending'::text",
        "reason, notes text",
        "requested_at timestamptz! now()",
        "processed_at timestamptz",
        "processed_by text",
        CREATED,
    ],
}


def expected_columns(specs: list[str]) -> dict[str, tuple[str, bool, str | None]]:
    """{column: (udt_name, not_null, default)} from the compact specs."""
    out = {}
    for spec in specs:
        tokens = spec.split()
        names = []
        while tokens[0].endswith(","):
            names.append(tokens.pop(0).rstrip(","))
        names.append(tokens.pop(0))
        type_, default = tokens[0], " ".join(tokens[1:]) or None
        for name in names:
            out[name] = (type_.rstrip("!"), type_.endswith("!"), default)
    return out


@pytest.mark.parametrize("table", sorted(TABLES))
def test_table_columns_match_schema(conn, table):
    rows = conn.execute(
        "select column_name, udt_name, is_nullable = 'NO', column_default"
        " from information_schema.columns where table_schema = 'public' and table_name = %s",
        (table,),
    ).fetchall()
    actual = {name: (udt, not_null, default) for name, udt, not_null, default in rows}
    assert actual == expected_columns(TABLES[table])


def test_every_table_has_a_uuid_primary_key_and_row_level_security(conn):
    rows = conn.execute(
        """select c.relname, c.relrowsecurity, pg_get_constraintdef(k.oid)
           from pg_class c left join pg_constraint k on k.conrelid = c.oid and k.contype = 'p'
           where c.relnamespace = 'public'::regnamespace and c.relname = any(%s)""",
        (list(TABLES),),
    ).fetchall()
    assert {r[0] for r in rows} == set(TABLES)
    for name, rls, pk in rows:
        assert rls, f"RLS not enabled on {name}"
        assert pk == "PRIMARY KEY (id)", name


def test_enums_have_exactly_their_values(conn):
    rows = conn.execute(
        """select t.typname, array_agg(e.enumlabel::text order by e.enumsortorder)
           from pg_type t join pg_enum e on e.enumtypid = t.oid
           where t.typnamespace = 'public'::regnamespace group by t.typname"""
    ).fetchall()
    assert dict(rows) == {
        "app_role": ["org_admin", "org_recruiter", "org_viewer", "candidate"],
        "interview_status": ["invited", "scheduled", "in_progress", "completed", "cancelled", "expired"],
        "invitation_status": ["pending", "sent", "delivered", "opened", "bounced", "expired"],
        "job_role_status": ["draft", "active", "paused", "closed"],
    }


CASCADE_TO_USERS = [
    "candidate_profiles",
    "candidate_skills",
    "education",
    "employment_history",
    "candidate_dei",
    "practice_interviews",
    "user_roles",
    "data_deletion_requests",
    "org_users",
]
FOREIGN_KEYS = {
    **{(t, "user_id"): ("auth.users", "c") for t in CASCADE_TO_USERS},
    ("applications", "candidate_id"): ("auth.users", "c"),
    ("audit_log", "user_id"): ("auth.users", "n"),
    ("audit_log", "organisation_id"): ("organisations", "n"),
    ("org_users", "organisation_id"): ("organisations", "c"),
    ("job_roles", "organisation_id"): ("organisations", "c"),
    ("applications", "job_role_id"): ("job_roles", "c"),
    ("interviews", "application_id"): ("applications", "c"),
    ("invitations", "application_id"): ("applications", "c"),
    ("transcript_segments", "interview_id"): ("interviews", "c"),
    ("interview_scores", "interview_id"): ("interviews", "c"),
    ("score_dimensions", "interview_id"): ("interviews", "c"),
}


def test_foreign_keys_and_delete_rules(conn):
    rows = conn.execute(
        """select c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, c.confdeltype::text
           from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
           where c.contype = 'f' and c.connamespace = 'public'::regnamespace
             and c.conrelid::regclass::text = any(%s)""",
        (list(TABLES),),
    ).fetchall()
    assert {(t, col): (ref, rule) for t, col, ref, rule in rows} == FOREIGN_KEYS


INDEXED = [
    ("job_roles", "organisation_id"),
    ("candidate_skills", "user_id"),
    ("education", "user_id"),
    ("employment_history", "user_id"),
    ("applications", "job_role_id"),
    ("applications", "candidate_id"),
    ("interviews", "application_id"),
    ("transcript_segments", "interview_id"),
    ("transcript_segments", "start_time_ms"),
    ("score_dimensions", "interview_id"),
    ("invitations", "application_id"),
    ("user_roles", "user_id"),
    ("audit_log", "organisation_id"),
    ("audit_log", "created_at"),
    # unique ones
    ("candidate_profiles", "user_id"),
    ("candidate_dei", "user_id"),
    ("interview_scores", "interview_id"),
    ("invitations", "token"),
    ("org_users", "organisation_id"),
]


def test_indexed_columns_lead_an_index(conn):
    rows = conn.execute(
        """select i.indrelid::regclass::text, a.attname
           from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
           where i.indrelid::regclass::text = any(%s)""",
        (list(TABLES),),
    ).fetchall()
    missing = set(INDEXED) - set(rows)
    assert not missing


def test_functions_are_security_definer_with_fixed_search_path(conn):
    rows = conn.execute(
        """select p.oid::regprocedure::text, p.prosecdef, p.proconfig, pg_get_function_result(p.oid)
           from pg_proc p where p.pronamespace = 'public'::regnamespace
             and p.proname in ('user_belongs_to_org', 'user_org_role', 'get_user_org_id', 'has_role')"""
    ).fetchall()
    assert {r[0]: r[3] for r in rows} == {
        "user_belongs_to_org(uuid,uuid)": "boolean",
        "user_org_role(uuid,uuid)": "text",
        "get_user_org_id(uuid)": "uuid",
        "has_role(app_role,uuid)": "boolean",
    }
    for name, secdef, config, _ in rows:
        assert secdef, name
        assert config == ["search_path=public"], name


def test_supabase_roles_exist_as_supabase_defines_them(conn):
    rows = conn.execute(
        "select rolname, rolcanlogin, rolbypassrls from pg_roles"
        " where rolname in ('anon', 'authenticated', 'service_role')"
    ).fetchall()
    assert {r[0]: r[1:] for r in rows} == {
        "anon": (False, False),
        "authenticated": (False, False),
        "service_role": (False, True),
    }


def test_auth_uid_reads_the_jwt_claims(conn):
    uid = uuid.uuid4()
    assert conn.execute("select auth.uid(), auth.role()").fetchone() == (None, None)
    conn.execute(
        "select set_config('request.jwt.claims', json_build_object('sub', %s::text, 'role', 'authenticated')::text, true)",
        (str(uid),),
    )
    assert conn.execute("select auth.uid(), auth.role()").fetchone() == (uid, "authenticated")
    # the older per-claim setting wins when present
    other = uuid.uuid4()
    conn.execute("select set_config('request.jwt.claim.sub', %s, true)", (str(other),))
    assert conn.execute("select auth.uid()").fetchone()[0] == other


# ---------------------------------------------------------------------------
# Row-level security and functions, on the seed of tests/db/helpers.py (fixture `s`)
# ---------------------------------------------------------------------------


def visible(conn, table: str) -> set:
    return {row[0] for row in conn.execute(f"select id from public.{table}")}


def seeded_roles(s) -> set:
    """Active roles are public, and other tests add their own: look only at ours."""
    return {s.role_a_active, s.role_a_draft, s.role_b_active, s.role_b_closed}


def test_member_sees_their_organisation_and_not_another(conn, s):
    act_as(conn, s.viewer_a)
    assert visible(conn, "organisations") == {s.org_a}
    assert {r[0] for r in conn.execute("select organisation_id from org_users")} == {s.org_a}
    # own org's roles in any status, other orgs' only when active
    assert visible(conn, "job_roles") & seeded_roles(s) == {s.role_a_active, s.role_a_draft, s.role_b_active}
    assert visible(conn, "applications") == {s.app1}
    assert visible(conn, "interviews") == {s.iv1}
    assert visible(conn, "interview_scores") == {s.score1}
    assert visible(conn, "transcript_segments") == {s.seg1}
    assert visible(conn, "score_dimensions") == {s.dim1}
    assert visible(conn, "invitations") == {s.inv1}
    # candidates who applied to this org, and nobody else
    assert visible(conn, "candidate_profiles") == {s.profile1}
    assert visible(conn, "candidate_skills") == {s.skill1}
    # audit log: admins only
    assert visible(conn, "audit_log") == set()
    act_as(conn, s.admin_a)
    assert visible(conn, "audit_log") == {s.audit_a}
    act_as(conn, s.outsider)
    for table in ("organisations", "org_users", "applications", "interviews", "candidate_profiles", "audit_log"):
        assert visible(conn, table) == set(), table


def test_candidate_sees_their_own_application_interview_and_score_only(conn, s):
    act_as(conn, s.cand1)
    assert visible(conn, "applications") == {s.app1}
    assert visible(conn, "interviews") == {s.iv1}
    assert visible(conn, "interview_scores") == {s.score1}
    assert visible(conn, "score_dimensions") == {s.dim1}
    assert visible(conn, "transcript_segments") == {s.seg1}
    assert visible(conn, "candidate_profiles") == {s.profile1}
    assert visible(conn, "practice_interviews") == {s.practice1}
    for table in ("organisations", "org_users", "invitations", "audit_log", "user_roles"):
        assert visible(conn, table) == set(), table
    act_as(conn, s.cand2)
    assert visible(conn, "applications") == {s.app2}
    assert visible(conn, "interview_scores") == {s.score2}
    assert visible(conn, "practice_interviews") == set()


def test_only_org_admins_update_the_organisation(conn, s):
    for user in (s.viewer_a, s.recruiter_a, s.admin_b, s.cand1):
        act_as(conn, user)
        assert conn.execute("update organisations set name = 'hacked' where id = %s", (s.org_a,)).rowcount == 0
    act_as(conn, s.admin_a)
    assert conn.execute("update organisations set name = 'Org A2' where id = %s", (s.org_a,)).rowcount == 1
    # nobody inserts or deletes organisations directly
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into organisations (name) values ('new')")
    assert conn.execute("delete from organisations where id = %s", (s.org_a,)).rowcount == 0
    conn.execute("reset role")
    assert conn.execute("select name from organisations where id = %s", (s.org_a,)).fetchone()[0] == "Org A2"


def test_anon_sees_active_job_roles_only(conn, s):
    act_as(conn, None, role="anon")
    assert visible(conn, "job_roles") & seeded_roles(s) == {s.role_a_active, s.role_b_active}
    for table in ("organisations", "applications", "candidate_profiles", "interviews", "invitations"):
        assert visible(conn, table) == set(), table


def test_dei_rows_are_visible_only_to_their_owner(conn, s):
    act_as(conn, s.cand1)
    assert visible(conn, "candidate_dei") == {s.dei1}
    act_as(conn, s.cand2)
    assert visible(conn, "candidate_dei") == {s.dei2}
    # the org cand1 applied to sees the profile but never the DEI answers
    act_as(conn, s.admin_a)
    assert s.profile1 in visible(conn, "candidate_profiles")
    assert visible(conn, "candidate_dei") == set()
    # a candidate cannot write someone else's DEI row
    act_as(conn, s.outsider)
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into candidate_dei (user_id, gender) values (%s, 'z')", (s.cand1,))
    conn.execute("insert into candidate_dei (user_id, gender) values (%s, 'z')", (s.outsider,))
    assert conn.execute("update candidate_dei set gender = 'q' where user_id = %s", (s.cand1,)).rowcount == 0


def test_write_policies(conn, s):
    # candidates apply for themselves only
    act_as(conn, s.outsider)
    conn.execute("insert into applications (job_role_id, candidate_id) values (%s, %s)", (s.role_a_active, s.outsider))
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into applications (job_role_id, candidate_id) values (%s, %s)", (s.role_a_active, s.cand1))
    # interviews are written by the system only
    act_as(conn, s.cand1)
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into interviews (application_id) values (%s)", (s.app1,))
    assert conn.execute("update interviews set status = 'completed' where id = %s", (s.iv1,)).rowcount == 0
    # recruiters create roles in their own org only; viewers cannot
    act_as(conn, s.recruiter_a)
    conn.execute("insert into job_roles (organisation_id, title) values (%s, 'New')", (s.org_a,))
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into job_roles (organisation_id, title) values (%s, 'New')", (s.org_b,))
    assert conn.execute("delete from job_roles where id = %s", (s.role_a_draft,)).rowcount == 0  # admins only
    act_as(conn, s.viewer_a)
    with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
        conn.execute("insert into job_roles (organisation_id, title) values (%s, 'New')", (s.org_a,))
    # org members move applications along; other orgs cannot
    assert conn.execute("update applications set status = 'screening' where id = %s", (s.app1,)).rowcount == 1
    assert conn.execute("update applications set status = 'screening' where id = %s", (s.app2,)).rowcount == 0
    # score overrides: org admins only
    assert conn.execute("update interview_scores set human_override = true where id = %s", (s.score1,)).rowcount == 0
    act_as(conn, s.admin_a)
    assert conn.execute("update interview_scores set human_override = true where id = %s", (s.score1,)).rowcount == 1
    # service_role bypasses RLS
    act_as(conn, None, role="service_role")
    assert visible(conn, "interviews") == {s.iv1, s.iv2}


def test_sql_functions(conn, s):
    act_as(conn, s.cand1)  # security definer: works even for a caller who cannot read org_users
    one = lambda sql, *args: conn.execute(sql, args).fetchone()[0]  # noqa: E731
    assert one("select user_belongs_to_org(%s, %s)", s.org_a, s.viewer_a) is True
    assert one("select user_belongs_to_org(%s, %s)", s.org_b, s.viewer_a) is False
    assert one("select user_org_role(%s, %s)", s.org_a, s.admin_a) == "admin"
    assert one("select user_org_role(%s, %s)", s.org_a, s.admin_b) == "member"
    assert one("select user_org_role(%s, %s)", s.org_b, s.viewer_a) is None
    assert one("select get_user_org_id(%s)", s.admin_b) == s.org_b  # first membership
    assert one("select get_user_org_id(%s)", s.viewer_a) == s.org_a
    assert one("select get_user_org_id(%s)", s.cand1) is None
    assert one("select has_role('candidate', %s)", s.cand1) is True
    assert one("select has_role('org_admin', %s)", s.cand1) is False
    assert one("select has_role('org_admin', %s)", s.admin_a) is True


def test_updated_at_trigger_and_cascades(conn, s):
    conn.execute("update organisations set updated_at = '2000-01-01' where id = %s", (s.org_a,))
    conn.execute("update organisations set name = 'Renamed' where id = %s", (s.org_a,))
    assert conn.execute("select updated_at > '2001-01-01' from organisations where id = %s", (s.org_a,)).fetchone()[0]
    conn.execute("delete from auth.users where id = %s", (s.cand1,))
    assert visible(conn, "applications") == {s.app2}
    assert visible(conn, "interviews") == {s.iv2}
    assert visible(conn, "candidate_dei") == {s.dei2}
    conn.execute("delete from auth.users where id = %s", (s.admin_a,))
    assert conn.execute("select user_id from audit_log where id = %s", (s.audit_a,)).fetchone()[0] is None
    conn.execute("delete from organisations where id = %s", (s.org_b,))
    assert conn.execute("select organisation_id from audit_log where id = %s", (s.audit_b,)).fetchone()[0] is None
    assert visible(conn, "interviews") == set()


# ---------------------------------------------------------------------------
# Constraints
# ---------------------------------------------------------------------------

UNIQUE_CASES = {
    "org_users pair": "insert into org_users (organisation_id, user_id) values ({org_a}, {viewer_a})",
    "candidate_profiles.user_id": "insert into candidate_profiles (user_id) values ({cand1})",
    "candidate_dei.user_id": "insert into candidate_dei (user_id) values ({cand1})",
    "interview_scores.interview_id": "insert into interview_scores (interview_id) values ({iv1})",
    "invitations.token": "insert into invitations (application_id, token, expires_at)"
    " select application_id, token, expires_at from invitations where id = {inv1}",
}

CHECK_CASES = {
    "match_score > 100": "update applications set match_score = 101 where id = {app1}",
    "match_score < 0": "update applications set match_score = -1 where id = {app1}",
    "overall_score > 100": "update interview_scores set overall_score = 101 where id = {score1}",
    "anti_cheat_risk_level": "update interview_scores set anti_cheat_risk_level = 'extreme' where id = {score1}",
    "score > 10": "update score_dimensions set score = 10.5 where id = {dim1}",
    "score < 0": "update score_dimensions set score = -0.1 where id = {dim1}",
    "weight > 1": "update score_dimensions set weight = 1.01 where id = {dim1}",
    "skill_type": "update candidate_skills set skill_type = 'medium' where id = {skill1}",
    "request_type": "insert into data_deletion_requests (user_id, request_type) values ({cand1}, 'everything')",
    "deletion status": "insert into data_deletion_requests (user_id, status) values ({cand1}, 'done')",
    "speaker": "update transcript_segments set speaker = 'narrator' where id = {seg1}",
}


def _render(sql: str, s: SimpleNamespace) -> str:
    return sql.format(**{k: f"'{v}'" for k, v in vars(s).items()})


@pytest.mark.parametrize("case", sorted(UNIQUE_CASES))
def test_unique_constraints_reject_duplicates(conn, s, case):
    with pytest.raises(errors.UniqueViolation):
        conn.execute(_render(UNIQUE_CASES[case], s))


@pytest.mark.parametrize("case", sorted(CHECK_CASES))
def test_check_constraints_reject_out_of_range_values(conn, s, case):
    with pytest.raises(errors.CheckViolation):
        conn.execute(_render(CHECK_CASES[case], s))


def test_check_constraints_accept_boundary_values(conn, s):
    x = conn.execute
    x("update applications set match_score = 100 where id = %s", (s.app1,))
    x("update interview_scores set overall_score = 0, anti_cheat_risk_level = 'high' where id = %s", (s.score1,))
    x("update score_dimensions set score = 10, weight = 1 where id = %s", (s.dim1,))
    x("update transcript_segments set speaker = 'interviewer' where id = %s", (s.seg1,))
    x(
        "insert into data_deletion_requests (user_id, request_type, status) values (%s, 'anonymize', 'failed')",
        (s.cand1,),
    )


# ---------------------------------------------------------------------------
# Idempotency: a second run succeeds and changes nothing
# ---------------------------------------------------------------------------

SNAPSHOT = {
    "relations": """select c.oid::regclass::text, c.relkind, c.relacl::text, c.relrowsecurity
                    from pg_class c where c.relnamespace in ('public'::regnamespace, 'auth'::regnamespace)
                    order by 1""",
    "columns": """select table_schema, table_name, column_name, udt_name, is_nullable, column_default
                  from information_schema.columns where table_schema in ('public', 'auth') order by 1, 2, 3""",
    "constraints": """select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint
                      where connamespace in ('public'::regnamespace, 'auth'::regnamespace) order by 1, 2""",
    "indexes": "select schemaname, indexname, indexdef from pg_indexes where schemaname in ('public', 'auth') order by 1, 2",
    "policies": """select tablename, policyname, permissive, roles::text, cmd, qual, with_check
                   from pg_policies where schemaname = 'public' order by 1, 2""",
    "functions": """select p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text from pg_proc p
                    where p.pronamespace in ('public'::regnamespace, 'auth'::regnamespace) order by 1""",
    "triggers": "select tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) from pg_trigger where not tgisinternal order by 1, 2",
    "enums": "select enumtypid::regtype::text, enumlabel, enumsortorder from pg_enum order by 1, 3",
    "schemas": "select nspname, nspacl::text from pg_namespace where nspname in ('public', 'auth') order by 1",
    "default_acl": "select defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text from pg_default_acl order by 1, 2, 3",
    "roles": """select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles
                where rolname in ('anon', 'authenticated', 'service_role') order by 1""",
}


def _snapshot(conn) -> dict:
    return {name: conn.execute(sql).fetchall() for name, sql in SNAPSHOT.items()}


def test_migration_is_idempotent(conn, s):
    before = _snapshot(conn)
    counts = {t: conn.execute(f"select count(*) from public.{t}").fetchone()[0] for t in TABLES}
    conn.execute(MIGRATION.read_text())
    after = _snapshot(conn)
    for name in SNAPSHOT:
        assert after[name] == before[name], name
    assert {t: conn.execute(f"select count(*) from public.{t}").fetchone()[0] for t in TABLES} == counts


def test_rerun_respects_existing_objects_under_other_names(conn):
    """On Supabase the same policies, indexes and triggers exist under their own
    names: a run must not add ours beside them."""
    x = conn.execute
    x('drop policy "org admins can view audit log" on audit_log')
    x("create policy prod_audit_policy on audit_log for select to authenticated using (false)")
    x("drop index idx_audit_log_created_at")
    x("create index prod_audit_created on audit_log (created_at desc)")
    x("drop trigger set_updated_at on organisations")
    x("create trigger prod_touch before update on organisations for each row execute function set_updated_at()")
    x(MIGRATION.read_text())
    assert [r[0] for r in x("select policyname from pg_policies where tablename = 'audit_log'")] == [
        "prod_audit_policy"
    ]
    assert {r[0] for r in x("select indexname from pg_indexes where tablename = 'audit_log'")} == {
        "audit_log_pkey",
        "prod_audit_created",
        "idx_audit_log_organisation_id",
    }
    triggers = x("select tgname from pg_trigger where tgrelid = 'organisations'::regclass and not tgisinternal")
    assert [r[0] for r in triggers] == ["prod_touch"]
