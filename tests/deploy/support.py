"""Readers for the deployment files: ignore-file rules, Dockerfile
instructions, workflows, Bicep parameters. Pure parsing, no Docker, no Azure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pathspec
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def load_yaml(relative: str):
    return yaml.safe_load(read(relative))


def check_jsonschema(builtin: str, *files: str) -> subprocess.CompletedProcess:
    """Validate files against a schema vendored in check-jsonschema (no download)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", builtin, *[str(ROOT / f) for f in files]],
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---------------------------------------------------------------- .gitignore, .funcignore


def gitignore_spec(relative: str) -> pathspec.GitIgnoreSpec:
    """.gitignore and .funcignore share gitignore semantics (the functions
    action reads .funcignore with the `ignore` package, a gitignore matcher)."""
    return pathspec.GitIgnoreSpec.from_lines(read(relative).splitlines())


def gitignored(spec: pathspec.GitIgnoreSpec, path: str) -> bool:
    """True when the path, or a folder above it, is ignored."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        if spec.match_file("/".join(parts[:i]) + "/"):
            return True
    return spec.match_file(path)


# ---------------------------------------------------------------- .dockerignore


class DockerIgnore:
    """The Docker build context's rules: patterns in order, the last match
    wins, a pattern matches a path or any folder above it, `!` re-includes,
    `*` and `?` stay within one path segment, `**` spans segments."""

    def __init__(self, text: str):
        self.patterns: list[tuple[bool, re.Pattern, str]] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            raw = os.path.normpath(line[1:].strip() if negate else line).lstrip("/")
            self.patterns.append((negate, re.compile(self._regex(raw)), raw))

    @staticmethod
    def _regex(pattern: str) -> str:
        out, i = [], 0
        while i < len(pattern):
            char = pattern[i]
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
                continue
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
            i += 1
        return "".join(out)

    def excluded(self, path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        matched = False
        for negate, regex, _ in self.patterns:
            if any(regex.fullmatch(c) for c in candidates):
                matched = not negate
        return matched

    def may_include_below(self, folder: str) -> bool:
        return any(negate and raw.startswith(folder + "/") for negate, _, raw in self.patterns)

    def context(self, root: Path = ROOT) -> set[str]:
        """Every file of the working tree that `docker build .` would send."""
        files: set[str] = set()
        for current, dirs, names in os.walk(root):
            rel_dir = os.path.relpath(current, root)
            rel_dir = "" if rel_dir == "." else rel_dir
            kept = []
            for d in dirs:
                rel = f"{rel_dir}/{d}" if rel_dir else d
                if not self.excluded(rel) or self.may_include_below(rel):
                    kept.append(d)
            dirs[:] = kept
            for name in names:
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if not self.excluded(rel):
                    files.add(rel)
        return files


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


# ---------------------------------------------------------------- Bicep


def bicep_param(text: str, name: str) -> tuple[list[str], str | None]:
    """The decorator lines and the default value (source text) of `param name`."""
    lines = text.splitlines()
    for index, line in enumerate(lines):  # noqa: B007  (index is read after the loop)
        match = re.match(rf"param {name} \w+(?: = (.+))?$", line)
        if match:
            break
    else:
        raise AssertionError(f"param {name} not declared")
    decorators, i = [], index - 1
    # Walk up over decorators, including multi-line ones such as @allowed([...]).
    while i >= 0 and (lines[i].startswith(("@", "  ", "])")) or lines[i] == "]"):
        if lines[i].startswith("@"):
            decorators.append(lines[i])
        i -= 1
    return decorators, match.group(1)


# ---------------------------------------------------------------- shell scripts with a fake `az`

FAKE_AZ = r'''#!/usr/bin/env python3
"""Stands in for a command (az, curl, docker, sleep): logs each call and
answers from the first rule whose regex matches the joined arguments. A rule
with a list of answers gives them in turn (the last one repeats)."""
import json, os, re, sys
name = os.path.basename(sys.argv[0])
args = " ".join(sys.argv[1:])
state_dir = os.environ["FAKE_STATE"]
with open(os.path.join(state_dir, "calls.log"), "a") as log:
    log.write(name + " " + args + "\n")
rules = json.load(open(os.path.join(state_dir, "rules.json"))).get(name, [])
for index, rule in enumerate(rules):
    if re.search(rule["match"], args):
        answers = rule["answers"] if isinstance(rule["answers"], list) else [rule["answers"]]
        counter = os.path.join(state_dir, f"{name}.{index}.count")
        seen = int(open(counter).read()) if os.path.exists(counter) else 0
        open(counter, "w").write(str(seen + 1))
        answer = answers[min(seen, len(answers) - 1)]
        sys.stdout.write(answer.get("stdout", ""))
        sys.stderr.write(answer.get("stderr", ""))
        sys.exit(answer.get("rc", 0))
sys.exit(0)
'''


class FakeCommands:
    """A PATH directory whose az (and curl, docker, sleep, azd...) answer by
    rules: {command: [{"match": regex, "answers": {"stdout", "rc"} or [...]}]}."""

    def __init__(self, tmp_path: Path, rules: dict, commands=("az", "curl", "docker", "sleep")):
        self.dir = tmp_path / "fakebin"
        self.dir.mkdir()
        self.state = tmp_path / "fakestate"
        self.state.mkdir()
        (self.state / "rules.json").write_text(__import__("json").dumps(rules))
        for command in commands:
            path = self.dir / command
            path.write_text(FAKE_AZ)
            path.chmod(0o755)

    def run(self, args: list[str], env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
        # python3 and coreutils from the system; no azd unless faked.
        path = f"{self.dir}:{VENV_BIN}:/usr/bin:/bin"
        full_env = {"PATH": path, "HOME": str(self.state), "FAKE_STATE": str(self.state), **(env or {})}
        return subprocess.run(args, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)

    def calls(self, command: str = "az") -> list[str]:
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line[len(command) + 1 :] for line in lines if line.startswith(command + " ")]
