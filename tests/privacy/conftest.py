"""The retention fixtures the export's seeds need (candidate_with_everything uploads recordings)."""

from tests.retention.conftest import blob_service  # noqa: F401
