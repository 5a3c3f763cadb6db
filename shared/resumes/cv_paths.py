"""The one place that decides whether a CV storage path is safe and whose it is.
Used before a CV is read (parse-resume) and before one is deleted (retention)."""

from __future__ import annotations

import re
from uuid import UUID

MAX_PATH_CHARS = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def unsafe_path_reason(path: str) -> str | None:
    """Why `path` is not a plain relative path inside the bucket (worded for the
    API's `filePath`), or None when it is."""
    if len(path) > MAX_PATH_CHARS:
        return f"filePath must be at most {MAX_PATH_CHARS} characters"
    if path.startswith("/") or "\\" in path or ".." in path or _CONTROL.search(path):
        return "filePath must be a relative path without '..', backslashes or control characters"
    if "//" in path or any(ch in path for ch in "?#%"):
        return "filePath contains characters that are not allowed"
    return None


def in_user_folder(path: str, user_id: UUID | str) -> bool:
    """Whether `path` is under `<user-id>/`, each user's own folder."""
    return path.startswith(f"{user_id}/")


def is_own_cv_path(path: str, user_id: UUID | str) -> bool:
    """A safe path inside the user's own folder: the only CV paths we act on."""
    return unsafe_path_reason(path) is None and in_user_folder(path, user_id)
