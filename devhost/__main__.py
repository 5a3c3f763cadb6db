"""`python -m devhost [--port N]`: serve the function app on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from devhost.server import ROOT


def load_local_settings() -> None:
    """local.settings.json "Values" become environment variables, as under `func start`;
    variables already set win."""
    path = ROOT / "local.settings.json"
    if path.exists():
        for key, value in json.loads(path.read_text()).get("Values", {}).items():
            os.environ.setdefault(key, str(value))
    # The app treats an unset APP_ENV as production (fail closed); this host is
    # the development one, so it says so unless told otherwise.
    os.environ.setdefault("APP_ENV", "development")


def create_app(base_url: str = "http://127.0.0.1:7071"):
    """The local host's app; `base_url` is where it listens (Durable's client URLs point there)."""
    sys.path.insert(0, str(ROOT))
    import function_app
    from devhost.durable import DurableRuntime
    from devhost.server import FunctionHost, build_app
    from shared.platform.config import get_settings

    host = FunctionHost(function_app.app)
    durable = DurableRuntime(host, base_url)
    host.binding_values = durable.binding_values
    return build_app(
        function_app.app, cors_origins=get_settings().cors_origins, host=host, extra_routes=durable.routes()
    )


# Upstream services: (label, Services attribute, who answers 503 without it).
UPSTREAMS = (
    ("AI model", "ai", "ai-interviewer, score-interview, parse-resume, extract-requirements, generate-shortlist"),
    ("CV storage", "cv_storage", "parse-resume with a stored CV"),
    ("ACS", "acs_identity", "acs-token-generator"),
    ("Speech", "speech_tokens", "azure-speech-token"),
    ("Email", "email", "send-invitation"),
    ("Recordings storage", "recordings", "data-retention-cleanup (recordings)"),
    ("Supabase Auth admin", "supabase_admin", "data-retention-cleanup (full deletion)"),
)


def database_line(settings) -> str:
    if not settings.DATABASE_URL:
        return "embedded PostgreSQL 16 under .local/pg (DATABASE_URL unset; log .local/embedded-postgres.log)"
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(settings.DATABASE_URL)
    except Exception:  # shown, not used: never print the URL itself (it may hold a password)
        return "DATABASE_URL (unparsable)"
    return f"DATABASE_URL {parts.get('host', '?')}:{parts.get('port', '5432')}/{parts.get('dbname', '?')}"


def upstream_lines(settings, local_model: str | None = None) -> list[str]:
    """Each upstream service: configured, or which calls answer 503 and the setting that
    enables it. The adapters' own builders decide (the messages are theirs); the
    embedded model's line is its supervisor's (`local_model`)."""
    import asyncio

    from shared.platform.errors import NotConfigured
    from shared.platform.wiring import Services

    probe = Services(settings)
    lines = []
    for label, attribute, callers in UPSTREAMS:
        if attribute == "ai" and local_model:
            lines.append(f"  {label:<20} embedded: {local_model}")
            continue
        try:
            adapter = getattr(probe, attribute)
        except NotConfigured as missing:
            lines.append(f"  {label:<20} 503 ({callers}): {missing.message}")
        else:
            kind = type(adapter).__name__
            if kind == "OutboxEmail":  # development without RESEND_API_KEY
                lines.append(f"  {label:<20} written to .local/outbox/ (RESEND_API_KEY sends through Resend)")
            else:
                lines.append(f"  {label:<20} configured ({kind})")
    asyncio.run(probe.close())
    return lines


def banner(base_url: str, settings=None, local_model: str | None = None) -> str:
    from shared.platform.api_docs import docs_enabled
    from shared.platform.config import get_settings

    settings = settings or get_settings()
    docs = f"{base_url}/api/docs" if docs_enabled(settings) else "off (API_DOCS_ENABLED=false in production)"
    lines = [
        f"Talenti functions ({settings.APP_ENV}) on {base_url}",
        f"  API page             {docs}   (OpenAPI: {base_url}/api/openapi.json)",
        f"  Routes               {base_url}/api/...  and the former names {base_url}/functions/v1/<name>",
        f"  Database             {database_line(settings)}",
        "Upstream services:",
        *upstream_lines(settings, local_model),
        'Token: TOKEN=$(make -s token); then -H "Authorization: Bearer $TOKEN"',
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7071")))
    args = parser.parse_args()
    from devhost.lifeline import watch_parent_from_env

    watch_parent_from_env()  # started by a test or benchmark: end with it, even if it is killed
    load_local_settings()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s %(message)s")

    import uvicorn

    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    from devhost.local_model.supervisor import start_if_selected

    # AI_PROVIDER resolves to local: the model is prepared in the background while the app serves.
    model = start_if_selected(ROOT / ".local" / f"local-model-{args.port}.log")
    app = create_app(f"http://{local}:{args.port}")
    print(banner(f"http://{local}:{args.port}", local_model=model.banner_line() if model else None), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
