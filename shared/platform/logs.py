"""Structured JSON logs. One line per event; never tokens or CV text."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

logger = logging.getLogger("talenti")


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if not logger.isEnabledFor(level):  # no JSON built for a line nobody reads
        return
    record = {"event": event, "ts": round(time.time(), 3), **fields}
    logger.log(level, json.dumps(record, default=str, separators=(",", ":")))
