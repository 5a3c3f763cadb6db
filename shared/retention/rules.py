"""Where a candidate's data lives, and what erasing or anonymising them does to each
place: the one registry the deletion code runs (queries.py builds its statements
from TABLE_RULES; deletion_requests.py runs one step per STORE_RULES entry) and
tests/retention/test_erase_rules.py checks against the live schema, so a new table
that holds candidate data fails that test until it gets a rule here.

Pure data: no I/O. Every statement takes `%(user)s`, the candidate's user id.
"""

from __future__ import annotations

from dataclasses import dataclass

# The candidate's interviews (through their applications).
CANDIDATE_INTERVIEWS = """select i.id from public.interviews i join public.applications a on a.id = i.application_id
                           where a.candidate_id = %(user)s"""
_CANDIDATE_APPLICATIONS = "select id from public.applications where candidate_id = %(user)s"

# interviews.metadata keys that anonymising keeps (shared/calls writes the rest):
# - lastEventAt: a timestamp;
# - recordings: by then the recordings step has deleted every chunk in our storage and
#   cleared its locations; what is left names recordings outside our storage, which
#   retention keeps reporting until someone resolves them.
# Dropped: participants (ACS ids, raw ids, display names: the person) and
# serverCallId/correlationId, which link the interview to ACS's own call records,
# and so to the participants (pseudonymous identifiers are personal data).
ANONYMISED_METADATA_KEYS = ("lastEventAt", "recordings")
_KEPT_KEYS_SQL = "array[" + ", ".join(f"'{key}'" for key in ANONYMISED_METADATA_KEYS) + "]"


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
        "public.interviews",
        f"delete from public.interviews where id in ({CANDIDATE_INTERVIEWS})",
        f"""update public.interviews
               set anti_cheat_signals = null,
                   metadata = case when jsonb_typeof(metadata) = 'object'
                                   then (select coalesce(jsonb_object_agg(m.key, m.value), '{{}}'::jsonb)
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
        "skill names and levels, kept for aggregates; nothing identifies the person once the profile is anonymised",
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
                  cv_uploaded_at = null, updated_at = now()
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
