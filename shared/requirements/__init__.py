"""Requirements from a job description (was extract-requirements).

service.py, models.py, prompts.py. Triggers: blueprints/requirements.py.
`models` is exported: the interviewer reads a role's requirement lists."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS = ("models",)
