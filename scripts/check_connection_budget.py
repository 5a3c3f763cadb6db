"""The database connection budget of each parameter file, for both hosting
options: every connection the app can open, plus the migration job and the
Edge Functions' reserve, must fit the Supabase pooler's client-connection
limit (dbPoolerMaxClientConnections). The same rule as infra/main.bicep
(which refuses a deployment over it); this runs before any deployment, in CI
(scripts/check_infra.sh, the deploy workflow's validate stage) and in the
tests. Values missing from a file come from main.bicep's defaults; azd's
${VAR=default} placeholders count with their default.

Usage: python scripts/check_connection_budget.py [parameter files...]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "infra" / "main.bicep"
HOSTINGS = ("flex", "containerapps")
NAMES = (
    "dbPoolMax",
    "dbPoolerMaxClientConnections",
    "migrationConnections",
    "edgeFunctionsReserveConnections",
    "maximumInstanceCount",
    "flexScaleGroups",
    "alwaysReadyHttpInstances",
    "alwaysReadyDurableInstances",
    "zoneRedundant",
    "containerMaxReplicas",
)
PLACEHOLDER = re.compile(r"\$\{(\w+)(?:=([^}]*))?\}")


def _value(text: str) -> int | bool | str:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text.strip("'")


def bicep_defaults(text: str) -> dict[str, int | bool | str]:
    """`param name type = value` lines of main.bicep (simple literals only)."""
    return {name: _value(value) for name, value in re.findall(r"^param (\w+) \w+ = (.+)$", text, flags=re.M)}


def file_values(path: Path) -> dict[str, object]:
    parameters = json.loads(path.read_text(encoding="utf-8"))["parameters"]
    values = {}
    for name, entry in parameters.items():
        value = entry.get("value")
        if isinstance(value, str):
            match = PLACEHOLDER.fullmatch(value)
            if match:
                if match.group(2) is None:
                    continue  # no default: main.bicep's applies
                value = _value(match.group(2))
        values[name] = value
    return values


def budget(values: dict, hosting: str) -> dict[str, int]:
    """The connections each part may hold, as main.bicep counts them."""
    zone_minimum = 2 if values["zoneRedundant"] else 0
    if hosting == "flex":
        instances = (
            values["maximumInstanceCount"] * values["flexScaleGroups"]
            + max(values["alwaysReadyHttpInstances"], zone_minimum)
            + max(values["alwaysReadyDurableInstances"], zone_minimum)
        )
    else:
        instances = values["containerMaxReplicas"]
    app = values["dbPoolMax"] * instances
    total = app + values["migrationConnections"] + values["edgeFunctionsReserveConnections"]
    return {"app": app, "total": total, "limit": values["dbPoolerMaxClientConnections"]}


def check(path: Path, defaults: dict) -> list[str]:
    values = {**defaults, **file_values(path)}
    missing = [name for name in NAMES if not isinstance(values.get(name), (int, bool))]
    if missing:
        return [f"{path.name}: no value for {', '.join(missing)}"]
    problems = []
    # The hosting option is chosen at deploy time (workflow input, azd env): both must fit.
    for hosting in HOSTINGS:
        counted = budget(values, hosting)
        line = (
            f"{path.name} ({hosting}): {counted['total']} connections "
            f"(app {counted['app']} + migrations {values['migrationConnections']} "
            f"+ Edge Functions {values['edgeFunctionsReserveConnections']}) / pooler limit {counted['limit']}"
        )
        if counted["total"] > counted["limit"]:
            problems.append("over budget: " + line)
        else:
            print("ok: " + line)
    return problems


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or sorted((ROOT / "infra").glob("main.parameters*.json"))
    defaults = bicep_defaults(MAIN.read_text(encoding="utf-8"))
    problems = [problem for path in files for problem in check(path, defaults)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
