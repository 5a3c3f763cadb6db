"""`python -m devhost.local_model serve | install | selftest | status`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from devhost.local_model import __doc__ as package_doc

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 7072


def main() -> None:
    parser = argparse.ArgumentParser(description=(package_doc or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("serve", help="serve the model (OpenAI-compatible) on loopback")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=DEFAULT_PORT)
    run.add_argument("--parallel", type=int, default=2, help="model instances (concurrent requests)")
    run.add_argument("--threads", type=int, default=None, help="CPU threads per instance (default 1)")
    run.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    install = commands.add_parser("install", help="install llama-cpp-python and the model (make model)")
    install.add_argument("--no-self-test", action="store_true", help="skip the self-test after installing")
    commands.add_parser("selftest", help="load the model and generate a few tokens (run in a child process)")
    commands.add_parser("status", help="say whether the model is installed")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s %(message)s")
    if args.command == "install":
        from devhost.local_model.install import install as install_model

        raise SystemExit(install_model(self_test=not args.no_self_test))
    if args.command == "selftest":
        from devhost.local_model.selftest import child_main

        raise SystemExit(child_main())
    if args.command == "status":
        from shared.ai.local_model import missing_parts, model_file

        missing = missing_parts()
        print(f"missing: {', '.join(missing)}" if missing else f"installed: {model_file()}")
        raise SystemExit(1 if missing else 0)
    if args.command == "serve":
        from devhost.local_model.server import serve

        serve(args.port, host=args.host, parallel=args.parallel, threads=args.threads, parent=args.parent)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
