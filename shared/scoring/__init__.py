"""Interview scoring (was score-interview).

service.py (asking for a score; the orchestration's three steps), rules.py
(pure: rubric, transcript, quotes, the result), queries.py, models.py (also the
shapes that cross the Durable boundary), prompts.py. Triggers, the Durable
orchestrator and its activities included: blueprints/scoring.py. `service` is
exported: a call that ends starts scoring (calls)."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS = ("service",)
