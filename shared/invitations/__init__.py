"""Interview invitations by email (was send-invitation).

service.py, queries.py, models.py. Triggers: blueprints/invitations.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS: tuple[str, ...] = ()
