#!/usr/bin/env python3
"""Replay a request corpus against the old and the new backend and compare.

Both backends are addressed the way the frontend addresses them: by the
former function names under a functions URL. The old backend is the set of
Supabase Edge Functions (``https://<project>.supabase.co/functions/v1``); the
new one is the function app, which serves every former function at
``https://<app>.azurewebsites.net/functions/v1/<name>`` too. Each corpus entry
is sent to both; for every entry the tool reports whether the status codes are equal and
whether the JSON responses have the same shape: the same keys and the same
JSON types, recursively (values are not compared; a list is compared by the
shape of its first element). Exit status 0 when everything matches, 1 on any
mismatch or failed request, 2 on a usage or corpus error.

Corpus: one JSON file per endpoint in ``scripts/parity_corpus/``::

    {"endpoint": "ai-interviewer",
     "entries": [{"name": "...", "method": "POST", "path": "/ai-interviewer",
                  "headers": {}, "body": {...}, "token": "user"}]}

``path`` is given without the base URL, either as the former function
(``/ai-interviewer``) or as the app's route (``/ai/interviewer``); either way
both sides get ``/<former name>`` (ENDPOINTS below, the "former function"
names of API.md). Routes with no former function (``/health``,
``/openapi.json``, ``/ai/interviewer/stream``) exist only in the app and are
sent to its ``/api`` base (``--new-api``, by default ``--new`` with its
``/functions/v1`` replaced by ``/api``). ``--new-paths api`` sends every entry
to the app's ``/api`` routes instead (to compare a route with its former
name, or an app without the former names). A query string is carried over. ``token`` is ``user`` (a
Supabase access token as ``Authorization: Bearer``), ``service`` (the app
gets ``x-service-key``; the Edge Functions had no service auth and get the
bearer token) or ``none``. Optional entry fields: ``mutates: true``
(writes data or sends email: skipped unless ``--include-mutating``),
``expect_status`` (for endpoints that exist only in the new backend),
``new_path`` (explicit ``/api`` route), ``known_difference`` (a reason: the
contract changed this behaviour on purpose, e.g. auth added where the old
function had none; a mismatch is then reported but does not fail the run).
``{{NAME}}`` placeholders in paths, headers
and bodies are filled from ``--var NAME=VALUE`` or the environment variable
``PARITY_VAR_NAME``; an entry with an unfilled placeholder is skipped.

Usage::

    python scripts/parity.py \\
        --old https://<project>.supabase.co/functions/v1 \\
        --new https://<app>.azurewebsites.net/functions/v1 \\
        --old-token "$JWT" [--new-token "$JWT"] [--new-service-key "$KEY"] \\
        [--old-apikey "$SUPABASE_ANON_KEY"] [--var INTERVIEW_ID=...] [--json]

Two instances of the function app (e.g. two local hosts, or local vs dev)
are compared with ``--old-backend app``: the old side then gets the service
key (``--old-service-key``) too, and the app-only routes are checked on the
new side alone.

Environment fallbacks: PARITY_OLD_BASE, PARITY_NEW_BASE, PARITY_NEW_API, PARITY_OLD_TOKEN,
PARITY_NEW_TOKEN (defaults to the old token: both backends accept the same
Supabase tokens), PARITY_NEW_SERVICE_KEY, PARITY_OLD_SERVICE_KEY,
PARITY_OLD_APIKEY.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Former Edge Function name -> new route (API.md). None: no former function.
ENDPOINTS: dict[str, str] = {
    "ai-interviewer": "ai/interviewer",
    "score-interview": "ai/score",
    "parse-resume": "ai/parse-resume",
    "extract-requirements": "ai/extract-requirements",
    "generate-shortlist": "ai/generate-shortlist",
    "acs-token-generator": "acs/token",
    "acs-webhook-handler": "acs/webhook",
    "azure-speech-token": "azure/speech-token",
    "send-invitation": "invitations/send",
    "create-organisation": "organisations",
    "data-retention-cleanup": "admin/data-cleanup",
}
# Routes of the new backend with no former function (checked on the new side only).
NEW_ONLY_ROUTES: tuple[str, ...] = ("health", "ai/interviewer/stream", "openapi.json")

DEFAULT_CORPUS = Path(__file__).resolve().parent / "parity_corpus"
TOKEN_KINDS = ("user", "service", "none")
PLACEHOLDER = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")


class CorpusError(Exception):
    """The corpus is malformed."""


# --------------------------------------------------------------------- paths


def resolve_paths(path: str, new_path: str | None = None) -> tuple[str | None, str]:
    """Return (``/<former name>`` or None for an app-only route, ``/<api route>``)
    for a corpus path given either way."""
    route, sep, query = path.partition("?")
    suffix = sep + query
    key = route.strip("/")
    if key in ENDPOINTS:
        old, new = "/" + key, "/" + ENDPOINTS[key]
    elif key in ENDPOINTS.values():
        old = "/" + next(k for k, v in ENDPOINTS.items() if v == key)
        new = "/" + key
    elif key in NEW_ONLY_ROUTES:
        old, new = None, "/" + key
    else:
        raise CorpusError(f"unknown endpoint path {path!r}")
    if new_path is not None:
        new = new_path.partition("?")[0]
    return (old + suffix if old is not None else None), new + suffix


# --------------------------------------------------------------------- shapes


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_of(value: Any) -> Any:
    """A value-free description: objects keep keys, arrays their first element."""
    if isinstance(value, dict):
        return {key: shape_of(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape_of(value[0])] if value else []
    return json_type(value)


def compare_shapes(
    old: Any,
    new: Any,
    path: str = "$",
    *,
    strict_null: bool = False,
    allow_extra_keys: bool = False,
) -> list[str]:
    """Differences in keys and JSON types between two decoded JSON values."""
    old_type, new_type = json_type(old), json_type(new)
    if old_type != new_type:
        if not strict_null and "null" in (old_type, new_type):
            return []  # an optional field set on one side only: a value difference
        return [f"{path}: {old_type} (old) vs {new_type} (new)"]
    diffs: list[str] = []
    if old_type == "object":
        for key in old:
            child = f"{path}.{key}"
            if key not in new:
                diffs.append(f"{child}: missing in new")
            else:
                diffs.extend(
                    compare_shapes(
                        old[key], new[key], child, strict_null=strict_null, allow_extra_keys=allow_extra_keys
                    )
                )
        if not allow_extra_keys:
            diffs.extend(f"{path}.{key}: missing in old" for key in new if key not in old)
    elif old_type == "array" and old and new:
        diffs.extend(
            compare_shapes(old[0], new[0], f"{path}[0]", strict_null=strict_null, allow_extra_keys=allow_extra_keys)
        )
    return diffs


# --------------------------------------------------------------------- corpus


@dataclass
class Entry:
    endpoint: str
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    token: str = "user"
    mutates: bool = False
    expect_status: int | None = None
    new_path: str | None = None
    known_difference: str | None = None


def load_corpus(directory: Path) -> list[Entry]:
    files = sorted(directory.glob("*.json"))
    if not files:
        raise CorpusError(f"no corpus files in {directory}")
    entries: list[Entry] = []
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{file.name}: invalid JSON: {exc}") from exc
        endpoint = doc.get("endpoint") or file.stem
        raw_entries = doc.get("entries")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise CorpusError(f"{file.name}: 'entries' must be a non-empty list")
        for raw in raw_entries:
            missing = [key for key in ("name", "method", "path") if key not in raw]
            if missing:
                raise CorpusError(f"{file.name}: entry without {', '.join(missing)}")
            token = raw.get("token", "user")
            if token not in TOKEN_KINDS:
                raise CorpusError(f"{file.name}: {raw['name']}: token must be one of {TOKEN_KINDS}")
            entry = Entry(
                endpoint=endpoint,
                name=raw["name"],
                method=str(raw["method"]).upper(),
                path=raw["path"],
                headers=dict(raw.get("headers") or {}),
                body=raw.get("body"),
                token=token,
                mutates=bool(raw.get("mutates", False)),
                expect_status=raw.get("expect_status"),
                new_path=raw.get("new_path"),
                known_difference=raw.get("known_difference"),
            )
            resolve_paths(entry.path, entry.new_path)  # validates the path early
            entries.append(entry)
    return entries


def fill_placeholders(value: Any, variables: dict[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return variables[name]
            missing.add(name)
            return match.group(0)

        return PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [fill_placeholders(item, variables, missing) for item in value]
    if isinstance(value, dict):
        return {key: fill_placeholders(item, variables, missing) for key, item in value.items()}
    return value


# --------------------------------------------------------------------- running


@dataclass
class Side:
    base: str  # the functions URL: <former name> is appended
    token: str | None = None
    service_key: str | None = None
    apikey: str | None = None
    app: bool = False  # the function app (service callers use x-service-key)
    api_base: str | None = None  # the app's /api base, for routes with no former name
    paths: str = "former"  # "api": address every entry by its /api route (the app only)

    def target(self, former: str | None, route: str) -> tuple[str, str] | None:
        """(base, path) an entry is sent to on this side, or None when it has no such path."""
        if former is not None and self.paths == "former":
            return self.base, former
        if not self.app or self.api_base is None:
            return None
        return self.api_base, route

    def auth_headers(self, kind: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.apikey:
            headers["apikey"] = self.apikey
        if kind == "none":
            return headers
        if kind == "service" and self.app:
            if self.service_key:
                headers["x-service-key"] = self.service_key
            return headers
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


@dataclass
class Answer:
    status: int | None = None
    value: Any = None
    error: str | None = None


@dataclass
class Result:
    endpoint: str
    name: str
    method: str
    old_path: str | None
    new_path: str
    old_status: int | None = None
    new_status: int | None = None
    status_match: bool | None = None
    shape_match: bool | None = None
    differences: list[str] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    known_difference: str | None = None
    old_shape: Any = None
    new_shape: Any = None

    @property
    def matched(self) -> bool:
        return self.error is None and self.status_match is not False and self.shape_match is not False

    @property
    def ok(self) -> bool:
        """Skipped, matched, or a mismatch the corpus documents as intended."""
        if self.skipped is not None:
            return True
        if self.error is not None:
            return False
        return self.matched or self.known_difference is not None


def decode(response: httpx.Response) -> Any:
    """The value shapes are taken from: the JSON body, or for a non-JSON answer
    a stand-in object naming its content type (so JSON vs text is a mismatch)."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.text
    if text.strip():
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return {"$non_json": content_type or "empty"}


def send(
    client: httpx.Client, side: Side, entry: Entry, target: tuple[str, str], headers: dict[str, str], body: Any
) -> Answer:
    base, path = target
    request_headers = {
        key.lower(): value
        for source in ({"accept": "application/json"}, side.auth_headers(entry.token), headers)
        for key, value in source.items()
    }
    kwargs: dict[str, Any] = {"headers": request_headers}
    if body is not None:
        kwargs["content"] = json.dumps(body).encode("utf-8")
        request_headers.setdefault("content-type", "application/json")
    url = base.rstrip("/") + path
    try:
        response = client.request(entry.method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}")
    return Answer(status=response.status_code, value=decode(response))


def run_entry(
    client: httpx.Client,
    old: Side,
    new: Side,
    entry: Entry,
    variables: dict[str, str],
    *,
    include_mutating: bool,
    strict_null: bool,
    allow_extra_keys: bool,
) -> Result:
    former, route = resolve_paths(entry.path, entry.new_path)
    new_base, new_path = new.target(former, route)
    # The Edge Functions answer former names only: an app-only route is checked on the new side alone.
    old_path = former
    result = Result(
        entry.endpoint, entry.name, entry.method, old_path, new_path, known_difference=entry.known_difference
    )
    if entry.mutates and not include_mutating:
        result.skipped = "mutates data (use --include-mutating)"
        return result
    missing: set[str] = set()
    headers = fill_placeholders(entry.headers, variables, missing)
    body = fill_placeholders(entry.body, variables, missing)
    old_path = fill_placeholders(old_path, variables, missing) if old_path else None
    new_path = fill_placeholders(new_path, variables, missing)
    result.old_path, result.new_path = old_path, new_path
    if missing:
        result.skipped = "needs " + ", ".join(f"--var {name}=..." for name in sorted(missing))
        return result

    new_answer = send(client, new, entry, (new_base, new_path), headers, body)
    result.new_status = new_answer.status
    if old_path is None:
        # Only in the new backend: check the expected status, if given.
        if new_answer.error:
            result.error = f"new: {new_answer.error}"
        elif entry.expect_status is not None:
            result.status_match = new_answer.status == entry.expect_status
            if not result.status_match:
                result.differences.append(f"status {new_answer.status}, expected {entry.expect_status}")
        return result

    old_answer = send(client, old, entry, (old.base, old_path), headers, body)
    result.old_status = old_answer.status
    errors = [f"{side}: {answer.error}" for side, answer in (("old", old_answer), ("new", new_answer)) if answer.error]
    if errors:
        result.error = "; ".join(errors)
        return result
    result.status_match = old_answer.status == new_answer.status
    if not result.status_match:
        result.differences.append(f"status {old_answer.status} (old) vs {new_answer.status} (new)")
    shape_diffs = compare_shapes(
        old_answer.value, new_answer.value, strict_null=strict_null, allow_extra_keys=allow_extra_keys
    )
    result.shape_match = not shape_diffs
    result.differences.extend(shape_diffs)
    if shape_diffs:
        result.old_shape, result.new_shape = shape_of(old_answer.value), shape_of(new_answer.value)
    return result


def run(
    entries: list[Entry],
    old: Side,
    new: Side,
    variables: dict[str, str],
    *,
    include_mutating: bool = False,
    strict_null: bool = False,
    allow_extra_keys: bool = False,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> list[Result]:
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
        return [
            run_entry(
                client,
                old,
                new,
                entry,
                variables,
                include_mutating=include_mutating,
                strict_null=strict_null,
                allow_extra_keys=allow_extra_keys,
            )
            for entry in entries
        ]


# --------------------------------------------------------------------- report


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[value]


def format_table(results: list[Result]) -> str:
    headers = ("endpoint", "case", "old", "new", "status=", "shape=", "result")
    rows = []
    for r in results:
        if r.skipped:
            verdict = f"skipped: {r.skipped}"
        elif r.error:
            verdict = f"ERROR: {r.error}"
        elif r.matched:
            verdict = "ok"
        elif r.known_difference:
            verdict = f"known difference: {r.known_difference}"
        else:
            verdict = "MISMATCH"
        rows.append(
            (
                r.endpoint,
                r.name,
                "-" if r.old_status is None else str(r.old_status),
                "-" if r.new_status is None else str(r.new_status),
                _mark(r.status_match),
                _mark(r.shape_match),
                verdict,
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])  # last column is free text

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip()

    out = [line(headers), line(tuple("-" * w for w in widths))]
    for r, row in zip(results, rows):
        out.append(line(row))
        for diff in r.differences:
            out.append(f"      - {diff}")
    counts = summary(results)
    out.append("")
    out.append(
        f"{counts['matched']} matched, {counts['mismatched']} mismatched, "
        f"{counts['known']} known differences, {counts['errors']} errors, {counts['skipped']} skipped"
    )
    return "\n".join(out)


def summary(results: list[Result]) -> dict[str, int]:
    ran = [r for r in results if r.skipped is None]
    return {
        "total": len(results),
        "matched": sum(1 for r in ran if r.matched),
        "mismatched": sum(1 for r in ran if not r.ok and r.error is None),
        "known": sum(1 for r in ran if r.error is None and not r.matched and r.known_difference),
        "errors": sum(1 for r in ran if r.error is not None),
        "skipped": len(results) - len(ran),
    }


# --------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="Compare the old (Supabase Edge Functions) and new (Azure Functions) backends.",
    )
    parser.add_argument(
        "--old", default=env("PARITY_OLD_BASE"), help="old base URL, e.g. https://<project>.supabase.co/functions/v1"
    )
    parser.add_argument(
        "--new",
        default=env("PARITY_NEW_BASE"),
        help="new functions URL, e.g. https://<app>.azurewebsites.net/functions/v1",
    )
    parser.add_argument(
        "--new-api",
        default=env("PARITY_NEW_API"),
        help="the app's /api base for routes with no former name (default: --new with /functions/v1 replaced by /api)",
    )
    parser.add_argument(
        "--new-paths",
        choices=("former", "api"),
        default="former",
        help="'former': the app is called by the former names like the frontend (default); 'api': by its /api routes",
    )
    parser.add_argument("--old-token", default=env("PARITY_OLD_TOKEN"), help="bearer token for the old side")
    parser.add_argument(
        "--new-token", default=env("PARITY_NEW_TOKEN"), help="bearer token for the new side (default: the old token)"
    )
    parser.add_argument(
        "--new-service-key",
        default=env("PARITY_NEW_SERVICE_KEY"),
        help="x-service-key for 'service' entries on the new side",
    )
    parser.add_argument(
        "--old-service-key",
        default=env("PARITY_OLD_SERVICE_KEY"),
        help="x-service-key for 'service' entries on the old side (with --old-backend app)",
    )
    parser.add_argument(
        "--old-backend",
        choices=("edge", "app"),
        default="edge",
        help="'edge': the old side is the Supabase Edge Functions (default); "
        "'app': another instance of the function app (its functions URL)",
    )
    parser.add_argument(
        "--old-apikey", default=env("PARITY_OLD_APIKEY"), help="Supabase anon key sent as 'apikey' to the old side"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        help="only this endpoint (former function name or new route); repeatable",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fill {{NAME}} placeholders; repeatable (or PARITY_VAR_NAME)",
    )
    parser.add_argument(
        "--include-mutating", action="store_true", help="also send entries that write data or send email"
    )
    parser.add_argument("--strict-null", action="store_true", help="treat null vs another type as a shape mismatch")
    parser.add_argument(
        "--allow-extra-keys", action="store_true", help="keys only the new side returns are not a mismatch"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not args.old or not args.new:
        parser.error("--old and --new (or PARITY_OLD_BASE / PARITY_NEW_BASE) are required")
    return args


def api_base_of(functions_url: str) -> str:
    """https://<app>/functions/v1 -> https://<app>/api (the app serves both)."""
    base = functions_url.rstrip("/")
    suffix = "/functions/v1"
    return (base[: -len(suffix)] if base.endswith(suffix) else base) + "/api"


def collect_variables(pairs: list[str]) -> dict[str, str]:
    variables = {key[len("PARITY_VAR_") :]: value for key, value in os.environ.items() if key.startswith("PARITY_VAR_")}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CorpusError(f"--var expects NAME=VALUE, got {pair!r}")
        variables[name] = value
    return variables


def select(entries: list[Entry], wanted: list[str]) -> list[Entry]:
    if not wanted:
        return entries
    keys = set()
    for item in wanted:
        item = item.strip("/")
        if item in ENDPOINTS or item in NEW_ONLY_ROUTES:
            keys.add(item)
        else:
            keys.update(k for k, v in ENDPOINTS.items() if v == item)
    return [e for e in entries if e.endpoint in keys or e.path.strip("/").partition("?")[0] in keys]


def main(argv: list[str] | None = None, *, transport: httpx.BaseTransport | None = None) -> int:
    args = parse_args(argv)
    try:
        variables = collect_variables(args.var)
        entries = select(load_corpus(args.corpus), args.endpoint)
    except CorpusError as exc:
        print(f"parity: {exc}", file=sys.stderr)
        return 2
    if not entries:
        print("parity: no corpus entries selected", file=sys.stderr)
        return 2
    old = Side(
        args.old,
        token=args.old_token,
        service_key=args.old_service_key,
        apikey=args.old_apikey,
        app=args.old_backend == "app",
    )
    new = Side(
        args.new,
        token=args.new_token or args.old_token,
        service_key=args.new_service_key,
        app=True,
        api_base=args.new_api or api_base_of(args.new),
        paths=args.new_paths,
    )
    results = run(
        entries,
        old,
        new,
        variables,
        include_mutating=args.include_mutating,
        strict_null=args.strict_null,
        allow_extra_keys=args.allow_extra_keys,
        timeout=args.timeout,
        transport=transport,
    )
    if args.json:
        report = {
            "old": args.old,
            "new": args.new,
            "summary": summary(results),
            "results": [dict(asdict(r), matched=r.matched, ok=r.ok) for r in results],
        }
        print(json.dumps(report, indent=2))
    else:
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
