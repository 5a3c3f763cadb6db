"""Reports for audits, for an organisation's admins: the bias audit (NYC Local Law
144's impact ratios by sex, race/ethnicity and their intersection; aggregates only)
and the AI decision log (EU AI Act Art. 12).

service.py, queries.py, models.py, rules.py (the category mapping, status order and
arithmetic), and render.py (the bias audit as CSV and as a self-contained HTML page).
Triggers: blueprints/reports.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
