"""What `make run` says it serves (the local host's banner), and the embedded
PostgreSQL's chatter kept off the console."""

from __future__ import annotations

import logging
from pathlib import Path

from shared.platform.config import Settings


def settings(**values) -> Settings:
    base = {
        "APP_ENV": "development",
        "DATABASE_URL": None,
        "AI_API_KEY": None,
        "AI_MODEL": None,
        "AI_BASE_URL": None,
        "AZURE_OPENAI_ENDPOINT": None,
        "ACS_CONNECTION_STRING": None,
        "ACS_ENDPOINT": None,
        "AZURE_SPEECH_KEY": None,
        "AZURE_SPEECH_REGION": None,
        "RESEND_API_KEY": None,
        "RECORDINGS_STORAGE_CONNECTION_STRING": None,
        "RECORDINGS_ACCOUNT_URL": None,
        "SUPABASE_SERVICE_ROLE_KEY": None,
    }
    return Settings(**{**base, **values})


def line_of(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(label))


def test_banner_names_the_url_docs_database_services_and_token():
    from devhost.__main__ import banner

    text = banner(
        "http://127.0.0.1:7071",
        settings(
            AI_API_KEY="sk-x",
            AI_MODEL="gpt-x",
            AI_BASE_URL="http://127.0.0.1:9/v1",
            DATABASE_URL="postgresql://app:s3cret-pw@db.example:6543/postgres",
        ),
    )
    assert "http://127.0.0.1:7071/api/docs" in text and "/functions/v1/<name>" in text
    assert "db.example:6543/postgres" in text and "s3cret-pw" not in text
    assert "configured" in line_of(text, "AI model")
    speech = line_of(text, "Speech")
    assert "503" in speech and "AZURE_SPEECH_KEY" in speech and "azure-speech-token" in speech
    acs = line_of(text, "ACS")
    assert "503" in acs and "ACS_CONNECTION_STRING" in acs
    email = line_of(text, "Email")
    assert ".local/outbox" in email and "RESEND_API_KEY" in email
    assert "make -s token" in text


def test_banner_without_a_database_url_names_the_embedded_server_and_its_log():
    from devhost.__main__ import banner

    text = banner("http://127.0.0.1:7071", settings())
    assert "embedded PostgreSQL" in text and ".local/embedded-postgres.log" in text
    ai = line_of(text, "AI model")  # no key in development: the embedded model, not running here
    assert "503" in ai and "LOCAL_MODEL_URL" in ai


def test_banner_says_what_the_model_supervisor_says(tmp_path):
    """`make run` with the embedded model: preparing in the background, or unusable and why."""
    from devhost.__main__ import banner
    from devhost.local_model import selftest
    from devhost.local_model.supervisor import State, Supervisor

    watched = Supervisor(tmp_path / "model.log", 1, verdict_file=tmp_path / "verdict.json")
    watched.state = State("installing", "installing llama-cpp-python and the model")
    ai = line_of(banner("http://127.0.0.1:7071", settings(), watched.banner_line()), "AI model")
    assert "embedded: installing llama-cpp-python" in ai and "503 with Retry-After until it is ready" in ai
    crashed = selftest.Verdict(False, "llama.cpp crashed with SIGSEGV in the self-test", "Xeon [amx_tile]", "k")
    watched.state = State("unusable", crashed.message())
    ai = line_of(banner("http://127.0.0.1:7071", settings(), watched.banner_line()), "AI model")
    assert "UNUSABLE" in ai and "SIGSEGV" in ai and "amx_tile" in ai and "make model" in ai


def test_production_banner_says_the_docs_page_is_off():
    from devhost.__main__ import banner

    text = banner(
        "http://127.0.0.1:7071",
        settings(
            APP_ENV="production",
            DATABASE_URL="postgresql://db.example/postgres",
            SUPABASE_URL="https://x.supabase.co",
            SERVICE_API_KEY="k" * 32,
            SITE_URL="https://talenti.example",
            SUPABASE_JWT_SECRET="j" * 32,
        ),
    )
    assert "/api/docs" not in text.split("API page")[1].splitlines()[0]
    assert "API_DOCS_ENABLED" in text


def test_embedded_postgres_logs_to_a_file_not_the_console(tmp_path: Path):
    from shared.platform.embedded_db import _log_to_file

    log = tmp_path / "embedded-postgres.log"
    pgserver = logging.getLogger("pgserver")
    before = list(pgserver.handlers), pgserver.propagate
    try:
        _log_to_file(log)
        _log_to_file(log)  # once per file, however often the server is started
        assert (
            len([h for h in pgserver.handlers if isinstance(h, logging.FileHandler) and Path(h.baseFilename) == log])
            == 1
        )
        assert pgserver.propagate is False
        pgserver.info("Successful postgres command initdb")
        for handler in pgserver.handlers:
            handler.flush()
        assert "initdb" in log.read_text()
    finally:
        for handler in pgserver.handlers:
            if handler not in before[0]:
                pgserver.removeHandler(handler)
                handler.close()
        pgserver.propagate = before[1]
