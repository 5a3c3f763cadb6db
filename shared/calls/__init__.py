"""Calls (were acs-token-generator, azure-speech-token, acs-webhook-handler):
ACS and Speech tokens, and ACS call and recording events.

service.py (tokens, and the events' handler), rules.py (pure: what an event
changes), envelopes.py (Event Grid and CloudEvents envelopes into one event,
and its typed data), queries.py, models.py, recording_metadata.py (the one
definition of the recording entries kept in interviews.metadata; exported:
retention deletes what they point at). Triggers: blueprints/calls.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS = ("recording_metadata", "service")
