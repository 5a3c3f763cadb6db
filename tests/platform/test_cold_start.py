"""Cold start: importing the app loads no SDK. The SDKs cost the time (see
benchmarks/bench_cold_start.py); they are imported inside the adapters, on first use."""

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


@pytest.mark.io  # a fresh interpreter
def test_importing_the_app_loads_none_of_the_sdks():
    probe = (
        "import json, sys; import function_app; "
        f"print(json.dumps(sorted(m for m in {list(DEFERRED)!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "development"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
