"""Smoke test after a deploy: the first thing to fail on a broken one.

    python scripts/smoke.py https://<app>            # or SERVICE_API_URI=https://<app>
    python scripts/smoke.py https://<app> --eventgrid-subscription <resource id>
                                                      # or EVENTGRID_SUBSCRIPTION_ID=<resource id>

Checks, each with a short timeout and a few tries (a cold start answers late):
  1. GET /api/health/ready answers 200 (database and storage reachable);
  2. GET /api/openapi.json answers 200 with a JSON document (`openapi`, `paths`);
  3. a former-name route with a bad token answers the contract's JSON 401
     (a deploy whose worker failed to import, e.g. ModuleNotFoundError after a
     remote build, answers 500 or 404 on everything, or the host's HTML);
  4. with a subscription id: `az eventgrid event-subscription show` says
     provisioningState Succeeded (skipped, with a note, without one).

Prints one line per check; exits 1 when any failed, each failure with its reason.
Standard library only (the deploy runner has Python and the Azure CLI, nothing else).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

# An endpoint that replaced an Edge Function and needs a signed-in user
# (tests/deploy/test_smoke.py checks it still is one).
FORMER_ROUTE = "/functions/v1/generate-shortlist"
BAD_TOKEN = "not-a-token"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class Failed(Exception):
    """A check's one-line reason."""


def fetch(url: str, timeout: float, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    data = b"{}" if method == "POST" else None
    # main() accepts only http(s) base URLs.
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:  # 4xx and 5xx still have a status and a body
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise Failed(f"no answer ({reason})") from None


def _json_object(answer: Answer) -> dict[str, object]:
    if "json" not in answer.content_type.lower():
        raise Failed(f"answered {answer.status} with {answer.content_type or 'no content type'}, not JSON")
    try:
        body = answer.json()
    except ValueError:
        raise Failed(f"answered {answer.status} with a body that is not JSON") from None
    if not isinstance(body, dict):
        raise Failed(f"answered {answer.status} with JSON that is not an object")
    return body


def check_ready(base: str, timeout: float) -> str:
    answer = fetch(base + "/api/health/ready", timeout)
    if answer.status != 200:
        detail = ""
        try:
            names = _json_object(answer).get("notReady")
            if isinstance(names, list):
                detail = f" (not ready: {', '.join(map(str, names))})"
        except Failed:
            pass
        raise Failed(f"answered {answer.status}, expected 200{detail}")
    return "200"


def check_openapi(base: str, timeout: float) -> str:
    answer = fetch(base + "/api/openapi.json", timeout)
    if answer.status != 200:
        raise Failed(f"answered {answer.status}, expected 200")
    document = _json_object(answer)
    missing = [key for key in ("openapi", "paths") if key not in document]
    if missing:
        raise Failed(f"the document has no {' or '.join(missing)}")
    paths = document["paths"]
    return f"OpenAPI {document['openapi']}, {len(paths) if isinstance(paths, dict) else '?'} paths"


def check_bad_token(base: str, timeout: float) -> str:
    answer = fetch(base + FORMER_ROUTE, timeout, method="POST", headers={"Authorization": f"Bearer {BAD_TOKEN}"})
    if answer.status != 401:
        raise Failed(f"POST {FORMER_ROUTE} with a bad token answered {answer.status}, expected the JSON 401")
    body = _json_object(answer)
    error = body.get("error")
    if not isinstance(error, str) or not error:
        raise Failed(f'POST {FORMER_ROUTE} answered 401 without the contract\'s {{"error": ...}} body')
    return "401 " + json.dumps(error)


def check_eventgrid(subscription_id: str, timeout: float) -> str:
    command = [
        "az", "eventgrid", "event-subscription", "show",
        "--ids", subscription_id, "--query", "provisioningState", "-o", "tsv",
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=max(timeout, 60))
    except FileNotFoundError:
        raise Failed("the Azure CLI (az) is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise Failed("az did not answer in time") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise Failed(f"az failed ({result.returncode}): {last[:300]}")
    state = result.stdout.strip()
    if state != "Succeeded":
        raise Failed(f"provisioning state is {state or 'empty'}, expected Succeeded")
    return state


def run_check(name: str, check: Callable[[], str], attempts: int, wait: float) -> str | None:
    """None when it passed (printed), else the last reason: tried `attempts` times, `wait` s apart."""
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            outcome = check()
        except Failed as failure:
            reason = str(failure)
            if attempt < attempts:
                time.sleep(wait)
            continue
        print(f"ok    {name}: {outcome}")
        return None
    tries = f" (after {attempts} tries)" if attempts > 1 else ""
    print(f"FAIL  {name}: {reason}{tries}")
    return reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke test of a deployed Talenti API.")
    parser.add_argument(
        "base_url", nargs="?", default=os.environ.get("SERVICE_API_URI"), help="default: $SERVICE_API_URI"
    )
    parser.add_argument(
        "--eventgrid-subscription",
        default=os.environ.get("EVENTGRID_SUBSCRIPTION_ID") or None,
        help="Event Grid subscription resource id (default: $EVENTGRID_SUBSCRIPTION_ID); skipped when unset",
    )
    parser.add_argument("--attempts", type=int, default=5, help="tries per check (default 5)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds between tries (default 10)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    args = parser.parse_args(argv)
    if not args.base_url:
        parser.error("give the base URL (or set SERVICE_API_URI)")
    base = args.base_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        parser.error(f"the base URL must start with https:// (or http://), not {base[:40]!r}")
    attempts, wait, timeout = max(1, args.attempts), max(0.0, args.wait), args.timeout

    checks: list[tuple[str, Callable[[], str]]] = [
        ("health/ready", lambda: check_ready(base, timeout)),
        ("openapi.json", lambda: check_openapi(base, timeout)),
        ("former route 401", lambda: check_bad_token(base, timeout)),
    ]
    subscription = args.eventgrid_subscription
    if subscription:
        checks.append(("eventgrid subscription", lambda: check_eventgrid(subscription, timeout)))
    print(f"smoke test of {base}")
    failures = [name for name, check in checks if run_check(name, check, attempts, wait) is not None]
    if not subscription:
        print("skip  eventgrid subscription: no --eventgrid-subscription (or EVENTGRID_SUBSCRIPTION_ID) given")
    if failures:
        print(f"smoke test FAILED: {', '.join(failures)}")
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
