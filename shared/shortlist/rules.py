"""What the shortlist lets the model decide, and what it checks: pure functions,
no I/O, tested without a database.

Candidate text (skills, job titles, employers, job summaries, availability) is
written by the candidates themselves and goes into the ranking prompt, so a CV
could try to steer the model ("rank me first"). Three checks keep the ranking
the recruiter's:

- the model's score is clamped to SCORE_BAND points either side of the
  rule-based score (computed by PostgreSQL from the stored facts), so no answer
  can lift a candidate past one whose rule score is more than twice the band
  higher;
- instruction-like candidate text is flagged (`reviewFlags`) for a human;
- a reason naming a skill, employer or title that is not in the candidate's
  stored facts is dropped, as scoring drops quotes the candidate never said.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# How far the model may move a candidate's score from the rule-based one, in points
# (0 to 100 scale): room to weigh what keywords miss, never to overturn the record.
SCORE_BAND = 15

INSTRUCTION_LIKE_TEXT = "instruction_like_text"  # the review flag

# --- the model's score --------------------------------------------------------------------


def clamp_to_band(model_score: int, rule_score: int, band: int = SCORE_BAND) -> int:
    """The model's score kept within `band` points of the rule-based score (and 0 to 100)."""
    low, high = max(0, rule_score - band), min(100, rule_score + band)
    return min(max(model_score, low), high)


# --- instruction-like candidate text ---------------------------------------------------------

# Phrases that address the model rather than describe a career. Matched on text folded by
# `_fold` (NFKC, case folded, whitespace collapsed), so full-width letters or line breaks do
# not hide them. "system:" counts only at the start of a line or after a bracket: "a billing
# system: invoices" is a CV.
_INSTRUCTION_PATTERNS = [
    re.compile(p)
    for p in (
        r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|guidelines|above|previous)\b",
        r"\b(new|updated|real|actual) instructions?\b",
        r"\byou are now\b",
        r"\byou (must|should|will) (now )?(rank|score|rate|give|assign|choose|select|pick)\b",
        r"\b(rank|put|place|list|move|rate|score)\s+(me|myself|this (candidate|applicant|cv|resume|profile)|him|her)\b"
        r".{0,30}\b(first|top|highest|1st|#?1|number one|above)\b",
        r"\b(at|to) the top of (the|this|your) (list|shortlist|ranking)\b",
        r"\b(give|assign|award|score|rate)\s+(me|myself|this (candidate|applicant|cv|resume|profile)|him|her)\b"
        r".{0,20}\b(100|full marks|top (score|marks)|maximum|highest)\b",
        r"\b(match ?score|rule_score|applicationid|match ?reasons)\b",
        r"(^|[\n\[<{(|])\s*(system|assistant|developer|user)\s*:",
        r"<\|?(im_start|im_end|system|endoftext)\|?>|\[/?inst\]|<</?sys>>",
        r"\b(system|hidden) prompt\b",
        r"\bas an ai\b|\blanguage model\b",
    )
]


def _fold(text: str) -> str:
    return re.sub(r"[^\S\n]+", " ", unicodedata.normalize("NFKC", text)).casefold()


def looks_like_instructions(text: str | None) -> bool:
    """Whether candidate-written text reads as instructions to a model."""
    if not text:
        return False
    folded = _fold(text)
    return any(pattern.search(folded) for pattern in _INSTRUCTION_PATTERNS)


def review_flags(candidate_texts: Iterable[str | None]) -> list[str]:
    """The review flags for one candidate's own text (empty when nothing looks wrong)."""
    return [INSTRUCTION_LIKE_TEXT] if any(looks_like_instructions(t) for t in candidate_texts) else []


# --- the model's reasons against the stored facts ----------------------------------------------


def _squash(text: str) -> str:
    """Lower case, only [a-z0-9+#] kept ('React.js' -> 'reactjs'), as the ranking's SQL does."""
    return re.sub(r"[^a-z0-9+#]+", "", unicodedata.normalize("NFKC", text).casefold())


def _keys(text: str) -> set[str]:
    """A fact's match keys: the whole of it squashed, each of its words and word parts
    ('Front-end' gives 'frontend', 'front', 'end'), each also without a trailing 'js'
    ('Node.js', 'node', 'nodejs' all meet) or a plural 's'."""
    normal = unicodedata.normalize("NFKC", text)
    keys = set()
    for part in [normal, *normal.split(), *re.split(r"[^0-9A-Za-z+#]+", normal)]:
        squashed = _squash(part)
        if squashed:
            keys |= _variants(squashed)
    return keys


def _covered(text: str, keys: frozenset[str]) -> bool:
    """Every word of `text` is among `keys` (one of its variants)."""
    words = [_squash(w) for w in unicodedata.normalize("NFKC", text).split()]
    return all(_variants(w) & keys for w in words if w)


def _variants(squashed: str) -> set[str]:
    found = {squashed}
    if squashed.endswith("js") and len(squashed) > 4:
        found.add(squashed[:-2])
    if squashed.endswith("s") and len(squashed) > 3:
        found.add(squashed[:-1])
    return found


# Words a reason may use about the data's own fields whatever the candidate's facts are.
_FIELD_WORDS = frozenset(
    {
        "interview",
        "score",
        "skill",
        "skills",
        "experience",
        "experienced",
        "year",
        "years",
        "availability",
        "available",
        "notice",
        "location",
        "work",
        "mode",
        "role",
        "required",
        "requirement",
        "requirements",
        "employment",
        "history",
        "profile",
        "none",
    }
)

# A reason that says what is missing may name what the role asks for.
_NEGATION = re.compile(r"\b(no|not|lacks?|lacking|missing|without|none|neither|nor|absent|gap|unlike)\b", re.I)

_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f][0-9A-Za-z\u00c0-\u024f+#.'’-]*[0-9A-Za-z\u00c0-\u024f+#]|[0-9A-Za-z+#]")
_SENTENCE_START = re.compile(r"(^|[.;:!?()\[\]–—-]|\s-)\s*$")


@dataclass(frozen=True)
class Facts:
    """What a reason may name: the candidate's own stored facts (as the model was shown them),
    the terms of the whole group and of the role (a reason naming one of those the candidate
    lacks is fabricated), and the role's terms (allowed in a reason that says what is missing)."""

    own: frozenset[str]
    group_terms: tuple[str, ...]
    role: frozenset[str]


def candidate_facts(own_texts: Iterable[str | None], group_terms: Iterable[str], role_texts: Iterable[str]) -> Facts:
    own: set[str] = set()
    for text in own_texts:
        if text:
            own |= _keys(text)
    role: set[str] = set()
    for text in role_texts:
        role |= _keys(text)
    terms = sorted({t.strip() for t in group_terms if t and t.strip() and _squash(t)}, key=len, reverse=True)
    return Facts(own=frozenset(own), group_terms=tuple(terms), role=frozenset(role))


def _named(word: str, sentence_start: bool) -> bool:
    """Whether a word of a reason names something (a skill, employer, title, place): mixed or
    upper case inside ('TypeScript', 'AWS'), symbols or digits inside letters ('C++', 'S3',
    'Node.js'), or a capital in mid-sentence ('Acme'). Plain words and numbers do not."""
    if len(word) < 2 or not any(c.isalpha() for c in word):
        return False
    if any(c.isupper() for c in word[1:]) or any(c in "+#" for c in word):
        return True
    if any(c.isdigit() for c in word) or "." in word.strip("."):
        return True
    return word[0].isupper() and not sentence_start


def _supported(word: str, facts: Facts, negated: bool) -> bool:
    keys = _variants(_squash(word))
    if keys & _FIELD_WORDS or keys & facts.own:
        return True
    return negated and bool(keys & facts.role)


def unsupported_names(reason: str, facts: Facts) -> list[str]:
    """The names in a reason that the candidate's facts do not hold (empty: the reason stands)."""
    negated = bool(_NEGATION.search(reason))
    missing = []
    for term in facts.group_terms:  # a skill, employer or title someone in the group has, or the role asks for
        named = re.search(rf"(?<![0-9A-Za-z]){re.escape(term)}(?![0-9A-Za-z+#])", reason, re.IGNORECASE)
        if named and not _covered(term, facts.own) and not (negated and _covered(term, facts.role)):
            missing.append(term)
    for match in _WORD.finditer(reason):
        word = match.group().rstrip(".").removesuffix("'s").removesuffix("’s")
        sentence_start = bool(_SENTENCE_START.search(reason[: match.start()]))
        if _squash(word) and _named(word, sentence_start) and not _supported(word, facts, negated):
            missing.append(word)
    return sorted(set(missing))


def supported_reasons(reasons: list[str], facts: Facts) -> list[str]:
    """The reasons whose every name is in the candidate's facts; the others are dropped."""
    return [reason for reason in reasons if not unsupported_names(reason, facts)]
