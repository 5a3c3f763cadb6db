"""Cold start: importing the app loads no SDK and no feature's working code. The
SDKs cost the time (see benchmarks/bench_cold_start.py); they are imported inside
the adapters, on first use. A blueprint declares its endpoints with the feature's
models and imports the feature's service inside each handler: the functions are
indexed without it, and the first request of a feature loads it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DEFERRED = (
    "openai",
    "supabase",
    "azure.storage",
    "azure.communication",
    "azure.identity",
    "azure.eventgrid",
    "resend",
    "pypdf",
    "psycopg",
    "psycopg_pool",
    "httpx",
    "jwt",
    "llama_cpp",
    "pydantic_settings",
)


def loaded_by_the_app() -> list[str]:
    """The modules `import function_app` loads, in a fresh interpreter."""
    probe = "import json, sys; import function_app; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "development"},
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.io  # a fresh interpreter
def test_importing_the_app_loads_none_of_the_sdks_and_only_the_features_models():
    loaded = loaded_by_the_app()
    assert [m for m in loaded if m.split(".")[0] in DEFERRED or m.startswith(DEFERRED)] == []
    features = [m for m in loaded if m.startswith("shared.") and m.count(".") == 2]
    own = {m.split(".")[1] for m in features}
    assert {"calls", "scoring", "retention", "reports"} <= own  # the probe sees the features
    working = [
        m for m in features if m.split(".")[1] not in ("platform", "ai", "adapters") and not m.endswith(".models")
    ]
    assert working == [], "a blueprint imports feature code at module level: import it inside the handler"
