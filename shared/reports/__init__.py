"""Reports for an organisation's admins: the AI decision log
(GET /api/reports/ai-decisions; more reports join this folder).

service.py, queries.py, models.py. Triggers: blueprints/reports.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
