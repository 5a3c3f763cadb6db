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


def create_app(base_url: str = "http://127.0.0.1:7071"):
    """The local host's app; `base_url` is where it listens (Durable's client URLs point there)."""
    sys.path.insert(0, str(ROOT))
    import function_app

    from devhost.durable import DurableRuntime
    from devhost.server import FunctionHost, build_app
    from shared.config import get_settings

    host = FunctionHost(function_app.app)
    durable = DurableRuntime(host, base_url)
    host.binding_values = durable.binding_values
    return build_app(function_app.app, cors_origins=get_settings().cors_origins, host=host,
                     extra_routes=durable.routes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7071")))
    args = parser.parse_args()
    load_local_settings()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s %(message)s")

    import uvicorn

    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    app = create_app(f"http://{local}:{args.port}")
    print(f"Talenti functions on http://{args.host}:{args.port}/api/health", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
