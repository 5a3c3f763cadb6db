"""Texts for the embedded-model tests and benchmark: a job advertisement as
employers write them, a candidate's answers, and a ten-turn interview."""

JOB_AD = """Senior Backend Engineer - Payments Platform
Fintech Labs | Melbourne VIC (hybrid, 3 days in the office) | Full time | $165,000 - $185,000 + super

About us
Fintech Labs builds the payments and reconciliation platform used by more than 400 Australian
businesses. We process two million transactions a day and we are growing our platform team.

The role
You will design, build and run the services that move money: the ledger, payouts and the
reconciliation engine. You will work with product managers, a designer and four other engineers,
and you will mentor two mid-level developers.

What you will do
- Design and build reliable backend services in Python (FastAPI) on PostgreSQL.
- Own event-driven integrations with banks and card schemes through Kafka.
- Improve observability: tracing, dashboards and alerting that wake the right person.
- Lead design reviews and write clear technical documents.
- Take part in a fair on-call rotation (one week in six).

What you bring
- 5+ years building production backend systems, at least 2 of them in Python.
- Strong SQL and PostgreSQL performance tuning.
- Experience with message queues or streaming (Kafka, RabbitMQ or similar).
- Experience running services on AWS or Azure with infrastructure as code (Terraform).
- A degree in computer science or equivalent practical experience.
- Clear written and spoken communication in English.

Nice to have
- Payments, banking or other regulated-industry experience (PCI DSS).
- Experience mentoring engineers.

Why join us
Flexible hours, 20 days of leave plus your birthday off, a $2,000 learning budget and an
employee share scheme. Fintech Labs is an equal opportunity employer; we welcome applications
from people of all backgrounds. Applications close 30 June.
"""

CANDIDATE_ANSWERS = [
    "Thanks for having me. I'm a backend engineer with six years of experience, mostly Python and PostgreSQL.",
    "At my current job I designed an event-driven ledger. We used Kafka topics per account group and idempotency "
    "keys so that replays never double-count a payment.",
    "When a query got slow, I read the plan with EXPLAIN ANALYZE, found a missing composite index and cut the "
    "report from forty seconds to under one.",
    "I disagreed with a product manager about shipping without reconciliation tests. I wrote up the risk with "
    "numbers, we agreed on a smaller first release, and it went out a week later without incidents.",
    "I mentor two juniors: weekly pairing, code review with explanations, and I let them own small features.",
    "I'd like to know how the on-call rotation works and what the first three months look like.",
]

_TEN_TURNS = [
    ("ai", "Welcome, and thanks for joining. Could you introduce yourself and your recent work?"),
    (
        "candidate",
        "Sure. I'm Priya, a backend engineer for six years. For the last three I've built the ledger at "
        "Fintech Labs in Python and PostgreSQL.",
    ),
    ("ai", "Tell me about a technical decision you made on that ledger and its trade-offs."),
    (
        "candidate",
        "We chose event sourcing with Kafka. It gave us a full audit trail and easy replays, but it made "
        "queries harder, so we added projections in PostgreSQL for reporting.",
    ),
    ("ai", "How did you make sure payments were never processed twice?"),
    (
        "candidate",
        "Every command carries an idempotency key stored with a unique constraint. A retry finds the "
        "key and returns the first result. We tested it by replaying a day of production traffic.",
    ),
    ("ai", "Describe a time you disagreed with a colleague. What happened?"),
    (
        "candidate",
        "A product manager wanted to skip reconciliation tests to hit a date. I showed the risk with "
        "numbers from past incidents; we cut scope instead and shipped a week later with no incidents.",
    ),
    ("ai", "Thank you. Do you have any questions for us?"),
    ("candidate", "Yes: how is on-call organised, and how do engineers choose what to work on next quarter?"),
]
TEN_TURN_TRANSCRIPT = [
    {"speaker": speaker, "content": content, "start_time_ms": index * 15_000}
    for index, (speaker, content) in enumerate(_TEN_TURNS)
]
