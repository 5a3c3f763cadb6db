"""CV parsing (was parse-resume): from CV storage by path, or a multipart upload.

service.py, models.py, prompts.py, pdf_text.py (text out of a PDF, under caps),
cv_paths.py (which storage paths are a candidate's own; exported: retention
deletes only those). Triggers: blueprints/resumes.py."""

# Modules other features may import (tests/platform/test_layout.py holds every feature to this).
EXPORTS = ("cv_paths",)
