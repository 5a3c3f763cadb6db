"""Where a candidate's data lives, and what erasing or anonymising them does to each
place: the one registry the deletion code runs (queries.py builds its statements
from TABLE_RULES; deletion_requests.py runs one step per STORE_RULES entry) and
tests/retention/test_erase_rules.py checks against the live schema, so a new table
that holds candidate data fails that test until it gets a rule here.

EXPORT_RULES, beside them, say what the person's data export (GET /api/me/data-export,
shared/privacy) reads from each of the same tables; tests/privacy checks that every
table here and every table the schema shows holding user data has one.

Pure data: no I/O. Every statement takes `%(user)s`, the candidate's user id.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.calls import recording_metadata

# The candidate's interviews (through their applications).
CANDIDATE_INTERVIEWS = """select i.id from public.interviews i join public.applications a on a.id = i.application_id
                           where a.candidate_id = %(user)s"""
_CANDIDATE_APPLICATIONS = "select id from public.applications where candidate_id = %(user)s"

_REMEMBER_ERASED_CALLS = f"""insert into app.erased_calls (call_id_sha256)
    select {recording_metadata.CALL_ID_HASH_SQL.format("i.metadata ->> k.key")}
      from public.interviews i cross join unnest(array{list(recording_metadata.CALL_ID_KEYS)}) as k(key)
     where i.id in ({CANDIDATE_INTERVIEWS}) and jsonb_typeof(i.metadata) = 'object' and i.metadata ->> k.key is not null
    on conflict (call_id_sha256) do nothing"""

# interviews.metadata keys that anonymising keeps (shared/calls writes the rest):
# - lastEventAt: a timestamp;
# - recordings: by then the recordings step has deleted every chunk in our storage and
#   cleared its locations; what is left names recordings outside our storage, which
#   retention keeps reporting until someone resolves them. Each entry is reduced to
#   recording_metadata.ANONYMOUS_ENTRY_KEYS: its serverCallId and documentId go.
# Dropped: participants (ACS ids, raw ids, display names: the person) and
# serverCallId/correlationId, which link the interview to ACS's own call records,
# and so to the participants (pseudonymous identifiers are personal data).
ANONYMISED_METADATA_KEYS = ("lastEventAt", recording_metadata.KEY)
_KEPT_KEYS_SQL = "array[" + ", ".join(f"'{key}'" for key in ANONYMISED_METADATA_KEYS) + "]"
_ANONYMISED_VALUE_SQL = f"""case when m.key = '{recording_metadata.KEY}'
                                 then {recording_metadata.anonymised_entries_sql("m.value")}
                                 else m.value end"""


@dataclass(frozen=True)
class TableRule:
    """One table: the statement full deletion runs (`erase`) and the one anonymising
    runs (`anonymise`); None means the table is left as it is, for `kept_because`."""

    table: str  # schema-qualified
    erase: str | None
    anonymise: str | None
    kept_because: str = ""

    @property
    def name(self) -> str:
        """How counts and notes name it: the bare name for public, app.<name> otherwise."""
        return self.table.removeprefix("public.")


# Children before parents, so the order holds whatever the foreign keys' delete actions are.
TABLE_RULES: tuple[TableRule, ...] = (
    TableRule(
        # AI usage (shared/platform/ai_usage.py): one row per model call, charged to an
        # organisation and to the caller. The caller's id goes; the spend stays with the
        # organisation (budgets and bills). Nothing else in a row is about the person.
        "app.ai_usage",
        "update app.ai_usage set user_id = null where user_id = %(user)s",
        "update app.ai_usage set user_id = null where user_id = %(user)s",
    ),
    TableRule(
        # The AI decision log: one row per candidate per model call (shared/platform/decision_log.py),
        # so erasing removes exactly this candidate's rows; anonymising too, since every row
        # names the person by id (and there is nothing else in a row to keep).
        "app.ai_decisions",
        "delete from app.ai_decisions where candidate_id = %(user)s",
        "delete from app.ai_decisions where candidate_id = %(user)s",
    ),
    TableRule(
        "app.processed_events",
        f"delete from app.processed_events where interview_id in ({CANDIDATE_INTERVIEWS})",
        None,
        "event ids, types and the interview id only; purged by the retention timer's housekeeping",
    ),
    TableRule(
        "public.score_dimensions",
        f"delete from public.score_dimensions where interview_id in ({CANDIDATE_INTERVIEWS})",
        f"""update public.score_dimensions set evidence = null, cited_quotes = null
             where interview_id in ({CANDIDATE_INTERVIEWS})""",
    ),
    TableRule(
        "app.score_reviews",
        f"delete from app.score_reviews where interview_id in ({CANDIDATE_INTERVIEWS})",
        # The decisions and scores stay (the record of human oversight); the reason may describe the person.
        f"""update app.score_reviews set reason = null
             where interview_id in ({CANDIDATE_INTERVIEWS}) and reason is not null""",
    ),
    TableRule(
        "public.interview_scores",
        f"delete from public.interview_scores where interview_id in ({CANDIDATE_INTERVIEWS})",
        f"""update public.interview_scores
               set narrative_summary = null, candidate_feedback = null,
                   human_override_reason = null, updated_at = now()
             where interview_id in ({CANDIDATE_INTERVIEWS})""",
    ),
    TableRule(
        "public.transcript_segments",
        f"delete from public.transcript_segments where interview_id in ({CANDIDATE_INTERVIEWS})",
        f"delete from public.transcript_segments where interview_id in ({CANDIDATE_INTERVIEWS})",
    ),
    TableRule(
        # Not the person's data: hashes of the calls of the interviews about to be erased
        # (before public.interviews loses the link), so that a recording event arriving
        # afterwards deletes its blobs (shared/calls/service.py; migration 014).
        "app.erased_calls",
        _REMEMBER_ERASED_CALLS,
        _REMEMBER_ERASED_CALLS,
    ),
    TableRule(
        "public.interviews",
        f"delete from public.interviews where id in ({CANDIDATE_INTERVIEWS})",
        f"""update public.interviews
               set anti_cheat_signals = null,
                   metadata = case when jsonb_typeof(metadata) = 'object'
                                   then (select coalesce(jsonb_object_agg(m.key, {_ANONYMISED_VALUE_SQL}), '{{}}'::jsonb)
                                           from jsonb_each(metadata) m where m.key = any({_KEPT_KEYS_SQL}))
                              end,
                   updated_at = now()
             where id in ({CANDIDATE_INTERVIEWS})
               and (anti_cheat_signals is not null or metadata is not null)""",
    ),
    TableRule(
        "public.invitations",
        f"delete from public.invitations where application_id in ({_CANDIDATE_APPLICATIONS})",
        # The email's wording may name the candidate; token, status and times stay.
        f"""update public.invitations set email_template = null
             where application_id in ({_CANDIDATE_APPLICATIONS}) and email_template is not null""",
    ),
    TableRule(
        "public.applications",
        "delete from public.applications where candidate_id = %(user)s",
        None,
        "statuses and dates: what aggregates are built from",
    ),
    TableRule(
        "public.candidate_dei",
        "delete from public.candidate_dei where user_id = %(user)s",
        "delete from public.candidate_dei where user_id = %(user)s",
    ),
    TableRule(
        "public.candidate_skills",
        "delete from public.candidate_skills where user_id = %(user)s",
        None,
        "skill names and levels, kept for aggregates; once the profile is anonymised they are tied only to a "
        "pseudonymous user id (the login account stays)",
    ),
    TableRule(
        "public.education",
        "delete from public.education where user_id = %(user)s",
        "delete from public.education where user_id = %(user)s",
    ),
    TableRule(
        "public.employment_history",
        "delete from public.employment_history where user_id = %(user)s",
        "delete from public.employment_history where user_id = %(user)s",
    ),
    TableRule(
        "public.practice_interviews",
        "delete from public.practice_interviews where user_id = %(user)s",
        "delete from public.practice_interviews where user_id = %(user)s",
    ),
    TableRule(
        "public.candidate_profiles",
        "delete from public.candidate_profiles where user_id = %(user)s",
        """update public.candidate_profiles
              set first_name = 'Anonymised', last_name = 'Candidate', email = null, phone = null,
                  suburb = null, state = null, postcode = null, country = null,
                  linkedin_url = null, portfolio_url = null, cv_file_path = null,
                  cv_uploaded_at = null, work_rights = null, gpa_wam = null, availability = null,
                  work_mode = null, updated_at = now()
            where user_id = %(user)s""",
    ),
    TableRule(
        "app.acs_identities",
        "delete from app.acs_identities where user_id = %(user)s",
        "delete from app.acs_identities where user_id = %(user)s",  # a new identity is made on the next call
    ),
    # Rows about the user that the deletion itself needs, or that are not candidate data.
    TableRule(
        "public.org_users",
        None,
        None,
        "organisation membership (staff, not candidates); removed with the auth user (on delete cascade)",
    ),
    TableRule(
        "public.user_roles",
        None,
        None,
        "the user's app role; removed with the auth user (on delete cascade)",
    ),
    TableRule(
        # Supabase Auth's own table: never written by SQL here.
        "auth.users",
        None,
        None,
        "the login account: full deletion deletes it through Supabase Auth's admin API (the last step, so a "
        "failed request can still be retried by its user id); anonymising keeps it so the person can sign in",
    ),
    TableRule(
        "public.audit_log",
        None,
        None,
        "who did what, the erasure included; entries hold ids and counts, user_id is set null with the auth user",
    ),
    TableRule(
        "public.data_deletion_requests",
        None,
        None,
        "the request is the record that the erasure happened; removed with the auth user (on delete cascade)",
    ),
    TableRule(
        "app.rate_limit_counters",
        None,
        None,
        "counters keyed by user id or address for one window (minutes); purged by the retention timer",
    ),
)


@dataclass(frozen=True)
class ExportRule:
    """One table in the person's data export (GDPR Art. 15): `select` reads the user's
    rows (takes `%(user)s`), `omit` names columns dropped from each row (secrets, other
    people's identities), `section` is the export document's key. A table left out
    (`select` None) says why in `kept_because`."""

    table: str  # schema-qualified, as in TABLE_RULES
    section: str
    select: str | None
    omit: tuple[str, ...] = ()
    kept_because: str = ""


# How another person appears in someone's export: by organisation, never by name, email or id.
_A_PERSON_AT = (
    "'a person at ' || coalesce((select o.name from public.organisations o where o.id = {org}), 'an organisation')"
)

EXPORT_RULES: tuple[ExportRule, ...] = (
    # The sign-in account as Supabase Auth keeps it; named columns only (never its secrets).
    ExportRule(
        "auth.users",
        "account",
        "select id, email, email_confirmed_at, created_at, raw_user_meta_data from auth.users where id = %(user)s",
    ),
    ExportRule(
        "public.candidate_profiles", "profile", "select * from public.candidate_profiles where user_id = %(user)s"
    ),
    ExportRule(
        "public.candidate_skills",
        "skills",
        "select * from public.candidate_skills where user_id = %(user)s order by created_at",
    ),
    ExportRule(
        "public.education", "education", "select * from public.education where user_id = %(user)s order by created_at"
    ),
    ExportRule(
        "public.employment_history",
        "employmentHistory",
        "select * from public.employment_history where user_id = %(user)s order by created_at",
    ),
    # Their own self-identification: it is theirs to see (never anyone else's).
    ExportRule(
        "public.candidate_dei", "selfIdentification", "select * from public.candidate_dei where user_id = %(user)s"
    ),
    ExportRule(
        "public.practice_interviews",
        "practiceInterviews",
        "select * from public.practice_interviews where user_id = %(user)s order by created_at",
    ),
    ExportRule(
        "public.applications",
        "applications",
        """select a.*, jr.title as role_title, o.name as organisation_name
             from public.applications a join public.job_roles jr on jr.id = a.job_role_id
             join public.organisations o on o.id = jr.organisation_id
            where a.candidate_id = %(user)s order by a.created_at""",
    ),
    ExportRule(
        "app.erased_calls",
        "erasedCalls",
        None,
        kept_because="hashes of the calls of erased interviews, with no id of anyone, so that a recording arriving "
        "after an erasure is deleted; forgotten after 30 days",
    ),
    # The call's participants (ACS ids and display names) may be other people: left out.
    ExportRule(
        "public.interviews",
        "interviews",
        f"""select i.*, i.metadata - 'participants' as call_metadata from public.interviews i
             where i.id in ({CANDIDATE_INTERVIEWS}) order by i.created_at""",
        omit=("metadata",),
    ),
    ExportRule(
        "public.transcript_segments",
        "transcripts",
        f"""select * from public.transcript_segments where interview_id in ({CANDIDATE_INTERVIEWS})
            order by interview_id, start_time_ms, created_at""",
    ),
    # Who set the score: the AI, or a person named by their organisation only.
    ExportRule(
        "public.interview_scores",
        "scores",
        f"""select s.*, case when s.scored_by = 'ai' then 'the AI model'
                             when s.scored_by is null then null
                             else {_A_PERSON_AT.format(org="jr.organisation_id")} end as scored_by_whom
              from public.interview_scores s join public.interviews i on i.id = s.interview_id
              join public.applications a on a.id = i.application_id
              join public.job_roles jr on jr.id = a.job_role_id
             where a.candidate_id = %(user)s order by s.created_at""",
        omit=("scored_by", "human_override_by"),
    ),
    ExportRule(
        "public.score_dimensions",
        "scoreDimensions",
        f"""select * from public.score_dimensions where interview_id in ({CANDIDATE_INTERVIEWS})
            order by interview_id, weight desc nulls last, dimension""",
    ),
    ExportRule(
        "app.score_reviews",
        "scoreReviews",
        f"""select r.*, {_A_PERSON_AT.format(org="r.organisation_id")} as reviewed_by
              from app.score_reviews r where r.interview_id in ({CANDIDATE_INTERVIEWS})
             order by r.created_at, r.id""",
        omit=("reviewer_id",),
    ),
    # The token is a credential (it opens the interview): never in a document that travels.
    ExportRule(
        "public.invitations",
        "invitations",
        f"""select * from public.invitations where application_id in ({_CANDIDATE_APPLICATIONS})
            order by created_at""",
        omit=("token",),
    ),
    ExportRule(
        "app.processed_events",
        "callEvents",
        f"""select event_type, interview_id, processed_at from app.processed_events
             where interview_id in ({CANDIDATE_INTERVIEWS}) order by processed_at""",
    ),
    ExportRule(
        "app.acs_identities",
        "communicationIdentity",
        "select * from app.acs_identities where user_id = %(user)s",
    ),
    ExportRule(
        "public.org_users",
        "organisationMemberships",
        """select ou.organisation_id, o.name as organisation_name, ou.role, ou.created_at
             from public.org_users ou join public.organisations o on o.id = ou.organisation_id
            where ou.user_id = %(user)s order by ou.created_at""",
    ),
    ExportRule(
        "public.user_roles", "appRoles", "select role, created_at from public.user_roles where user_id = %(user)s"
    ),
    # What they did: the entry's values may hold other people's data (ids, scores), so only what and when.
    ExportRule(
        "public.audit_log",
        "yourActions",
        """select action, entity_type, entity_id, created_at from public.audit_log
            where user_id = %(user)s order by created_at, id""",
    ),
    ExportRule(
        "public.data_deletion_requests",
        "deletionRequests",
        """select d.*, case when d.processed_by is null then null when d.processed_by = 'service' then 'the service'
                            else 'a person' end as processed_by_whom
             from public.data_deletion_requests d where d.user_id = %(user)s order by d.requested_at""",
        omit=("processed_by",),
    ),
    ExportRule(
        "app.rate_limit_counters",
        "rateLimitCounters",
        None,
        kept_because="request counts per user for one window of minutes, no content; purged by the retention timer",
    ),
    # One row per candidate per model call: the rows hold this person's id only, and hashes
    # and versions, never text (shared/platform/decision_log.py).
    ExportRule(
        "app.ai_decisions",
        "aiDecisions",
        """select id, call_id, occurred_at, purpose, organisation_id, interview_id, model, prompt_version,
                  rubric_version, input_sha256, outcome, input_tokens, output_tokens, latency_ms
             from app.ai_decisions where candidate_id = %(user)s order by id""",
    ),
    # The model calls made on this person's requests: purpose, model, tokens, cost; no text.
    ExportRule(
        "app.ai_usage",
        "aiUsage",
        """select id, occurred_at, organisation_id, purpose, model, outcome, input_tokens, output_tokens,
                  estimated_cost
             from app.ai_usage where user_id = %(user)s order by id""",
    ),
)


@dataclass(frozen=True)
class StoreRule:
    """A place outside the database: what erasing and anonymising remove there."""

    store: str  # the step's name in deletion_requests.STORE_STEPS
    where: str
    erase: str
    anonymise: str


STORE_RULES: tuple[StoreRule, ...] = (
    StoreRule(
        "recordings",
        "the recordings container (RECORDINGS_CONTAINER): the blobs interviews.recording_url and "
        "metadata.recordings name",
        "every blob deleted, then the row's locations cleared",
        "the same (recordings are personal data)",
    ),
    StoreRule(
        "task_hub",
        "the Durable task hub: scoring instances score-<interviewId>",
        "runs terminated, every instance's history purged",
        "the same",
    ),
    StoreRule(
        "acs_identity",
        "Azure Communication Services: the identity app.acs_identities names (its tokens, and the "
        "chat data ACS keeps for it)",
        "the identity deleted in ACS (tokens revoked, its data deleted), then the mapping row",
        "the same (a new identity is made on the next call)",
    ),
    StoreRule(
        "cv_folder",
        "CV storage (CV_BUCKET): every object under <userId>/",
        "every object deleted (older CVs too, not only cv_file_path)",
        "the same",
    ),
)

# ACS chat: the app creates no chat threads and keeps no thread ids, but a `chat`-scoped
# token lets a client write to ACS chat directly; deleting the identity in ACS deletes
# whatever ACS keeps for it, so the "acs_identity" store covers chat too.
