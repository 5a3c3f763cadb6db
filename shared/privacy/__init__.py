"""Privacy: the person's own data (issue 23; GDPR Art. 15).

service.py (GET /api/me/data-export: every row about the signed-in user, read in one
snapshot), queries.py, models.py (the document), rules.py (pure: the document and the
plain-language account of how each interview was scored). What is read from which
table is retention's registry (shared/retention/rules.py EXPORT_RULES), next to the
erase rules of the same tables. Triggers: blueprints/privacy.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
