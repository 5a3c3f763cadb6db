"""Data retention (was data-retention-cleanup).

service.py (the entry points: who may run it, one action, the timer's run),
recordings.py (recordings past their retention period), deletion_requests.py
(candidates' data deletion requests), queries.py, models.py, rules.py (the registry
of tables holding candidate data, read by shared/privacy's data export too). Triggers:
blueprints/retention.py, which also hands the timer the other features'
housekeeping."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
# rules: the registry of where a candidate's data lives (erasure's and the data export's).
EXPORTS = ("rules",)
