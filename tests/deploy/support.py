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
