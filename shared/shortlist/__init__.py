"""The ranked shortlist (was generate-shortlist).

service.py, queries.py, models.py, prompts.py, rules.py. Triggers: blueprints/shortlist.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
