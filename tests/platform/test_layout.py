"""The house's rules, read from the code itself (ast, no import): one folder per
feature with its blueprint of the same name, no layer folders, feature code
free of Functions types and of the wiring, features reaching each other only
through what they export on purpose, the platform reaching no feature, and no
import circle anywhere in the app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FEATURES = (
    "interviewer",
    "requirements",
    "resumes",
    "shortlist",
    "scoring",
    "calls",
    "invitations",
    "organisations",
    "retention",
    "privacy",
    "reports",
)
PLATFORM = ("platform", "ai", "adapters")  # what every feature may use
BLUEPRINTS = frozenset(path.stem for path in (ROOT / "blueprints").glob("*.py")) - {"__init__"}
FEATURE_FILES = frozenset({"service", "queries", "models", "prompts", "rules"})
FORBIDDEN_IN_FEATURES = ("azure.functions", "azure.durable_functions", "azurefunctions", "shared.platform.wiring")
pytestmark = pytest.mark.unit


def modules() -> dict[str, Path]:
    """Every module of the app by dotted name."""
    found = {"function_app": ROOT / "function_app.py"}
    for top in ("shared", "blueprints"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The app modules a file imports, wherever the import stands (function bodies and
    TYPE_CHECKING blocks included: a circle is a circle even if it does not loop at load)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {name for name in names if name in known or name.split(".")[0] in ("azure", "azurefunctions")}
    return found


def exports(feature: str) -> tuple[str, ...]:
    """The modules a feature offers the others: `EXPORTS` in its __init__.py."""
    tree = ast.parse((ROOT / "shared" / feature / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPORTS" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    return ()


def test_every_feature_has_its_blueprint_and_folder_and_no_layer_folder_is_left():
    for feature in FEATURES:
        assert (ROOT / "blueprints" / f"{feature}.py").exists(), feature
        assert (ROOT / "shared" / feature / "__init__.py").exists(), feature
        assert (ROOT / "tests" / feature).is_dir(), feature
    for layer in ("services", "db", "models", "prompts"):
        assert not (ROOT / "shared" / layer).exists(), f"shared/{layer}/ is a layer folder"
    # the feature's own files keep the same names everywhere; anything else is named in the feature's docstring
    for feature in FEATURES:
        own = {path.stem for path in (ROOT / "shared" / feature).glob("*.py")} - {"__init__"}
        extra = own - FEATURE_FILES
        doc = ast.get_docstring(ast.parse((ROOT / "shared" / feature / "__init__.py").read_text())) or ""
        assert all(f"{name}.py" in doc for name in extra), (feature, extra)


def test_feature_code_imports_no_functions_types_no_wiring_and_no_blueprint():
    known = modules()
    for name, path in known.items():
        if name.split(".")[:2][-1] not in FEATURES or not name.startswith("shared."):
            continue
        bad = {i for i in imports_of(path, known) if i.startswith(FORBIDDEN_IN_FEATURES) or i.startswith("blueprints")}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_a_feature_reaches_another_only_through_what_it_exports():
    known = modules()
    for name, path in known.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[0] != "shared" or parts[1] not in FEATURES:
            continue
        for imported in imports_of(path, known):
            other = imported.split(".")
            if other[0] != "shared" or len(other) < 3 or other[1] not in FEATURES or other[1] == parts[1]:
                continue  # (a feature's package itself holds only its EXPORTS)
            assert other[2] in exports(other[1]), (
                f"{name} imports {imported}: add the module to {other[1]}'s EXPORTS on purpose, or move it"
            )


def test_the_platform_reaches_no_feature():
    known = modules()
    for name, path in known.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[0] != "shared" or parts[1] not in PLATFORM:
            continue
        features = {i for i in imports_of(path, known) if i.startswith("shared.") and i.split(".")[1] in FEATURES}
        assert not features, f"{name} imports {sorted(features)}"


def test_no_import_circle():
    known = modules()
    graph = {name: {i for i in imports_of(path, known) if i in known and i != name} for name, path in known.items()}
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            raise AssertionError(" -> ".join([*stack[stack.index(node) :], node]))
        if node in done:
            return
        for nxt in sorted(graph[node]):
            visit(nxt, [*stack, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
