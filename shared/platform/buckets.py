"""The rate-limited routes and their default limits: one definition, read by the
limiter (rate_limit.py), the settings (RATE_LIMITS overrides) and `@api`."""

from __future__ import annotations

from enum import StrEnum


class Bucket(StrEnum):
    """The rate-limited routes: one name each, used by `@api(rate_limit=...)` and RATE_LIMITS."""

    AI_INTERVIEWER = "ai/interviewer"
    AI_SCORE = "ai/score"
    AI_SCORE_STATUS = "ai/score/status"
    AI_PARSE_RESUME = "ai/parse-resume"
    AI_EXTRACT_REQUIREMENTS = "ai/extract-requirements"
    AI_GENERATE_SHORTLIST = "ai/generate-shortlist"
    ACS_TOKEN = "acs/token"
    SPEECH_TOKEN = "azure/speech-token"
    INVITATIONS_SEND = "invitations/send"
    ORGANISATIONS = "organisations"
    DATA_CLEANUP = "admin/data-cleanup"
    AI_SCORE_REVIEW = "ai/score/review"
    DATA_EXPORT = "me/data-export"
    REPORTS_BIAS_AUDIT = "reports/bias-audit"
    REPORTS_AI_DECISIONS = "reports/ai-decisions"
    REPORTS_AI_USAGE = "reports/ai-usage"
    # Not a route: wrong tokens, service keys and webhook secrets, counted per client
    # address only (a guesser has no user), before the credential is even checked.
    AUTH_FAILURES = "auth/failures"
    # Not a route: a user's requests to the endpoints that call the model, per UTC day
    # (`@api(model_budget=True)`); past it 402 "Usage limit", services exempt.
    AI_DAILY = "ai/daily"


# Requests per window, per user (API.md "Rate limits").
DEFAULT_LIMITS: dict[Bucket, tuple[int, int]] = {
    Bucket.AI_INTERVIEWER: (20, 60),
    Bucket.AI_SCORE: (10, 60),
    Bucket.AI_SCORE_STATUS: (120, 60),  # polling a running score (not in API.md: the route is new)
    Bucket.AI_PARSE_RESUME: (10, 60),
    Bucket.AI_EXTRACT_REQUIREMENTS: (20, 60),
    Bucket.AI_GENERATE_SHORTLIST: (5, 60),
    Bucket.ACS_TOKEN: (60, 60),
    Bucket.SPEECH_TOKEN: (60, 60),
    Bucket.INVITATIONS_SEND: (30, 60),
    Bucket.ORGANISATIONS: (10, 60),
    Bucket.DATA_CLEANUP: (1, 60),
    Bucket.AI_SCORE_REVIEW: (30, 60),  # a recruiter working through a list, not a script
    Bucket.DATA_EXPORT: (5, 3600),  # a whole account's rows per request: a person needs it rarely
    Bucket.REPORTS_BIAS_AUDIT: (6, 60),  # a yearly audit in three formats, not a dashboard to poll
    Bucket.REPORTS_AI_DECISIONS: (60, 60),  # an admin paging through a log
    Bucket.REPORTS_AI_USAGE: (30, 60),  # a dashboard refreshing, not a feed
    Bucket.AUTH_FAILURES: (20, 600),  # no client makes 20 wrong guesses in 10 minutes by mistake
    Bucket.AI_DAILY: (400, 86_400),  # a day of interviews, CVs and shortlists, not a bill
}
if set(DEFAULT_LIMITS) != set(Bucket):  # a bucket without a limit would silently be unlimited
    raise RuntimeError(f"buckets without a default limit: {sorted(set(Bucket) - set(DEFAULT_LIMITS))}")
