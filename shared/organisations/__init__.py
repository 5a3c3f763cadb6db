"""Creating an organisation (was create-organisation).

service.py, queries.py, models.py, rules.py (reading a stored organisation, which
the interviewer and scoring share). Triggers: blueprints/organisations.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS = ("rules",)
