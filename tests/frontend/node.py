"""Run Node's test runner on a tests/frontend/*.test.mjs file and read its results."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it when missing


@dataclass
class NodeRun:
    returncode: int
    output: str

    def count(self, what: str) -> int:
        """A TAP summary figure: pass, fail, skipped, todo, cancelled."""
        found = re.search(rf"^# {what} (\d+)$", self.output, re.MULTILINE)
        return int(found.group(1)) if found else -1

    def assert_all_passed(self, expected: int) -> None:
        assert self.returncode == 0 and self.count("fail") == 0, self.output[-6000:]
        assert (self.count("pass"), self.count("skipped"), self.count("todo")) == (expected, 0, 0), self.output[-6000:]


def run_node_tests(file: str, fixture: dict, *, timeout: float = 240) -> NodeRun:
    """`node --test` on one file, with `fixture` (URLs, tokens, ids) in FRONTEND_FIXTURE."""
    node = shutil.which("node")
    assert node, "node is not on the PATH (Node 20 is a project prerequisite)"
    assert (ROOT / "node_modules" / "@supabase" / "functions-js").is_dir(), "run `make deps` (npm install) first"
    env = {**os.environ, "FRONTEND_FIXTURE": json.dumps(fixture), "NODE_NO_WARNINGS": "1"}
    # Browsers have WebSocket (supabase-js's realtime client wants one); Node 20 behind a flag.
    flags = ["--experimental-websocket"] if _node_major(node) < 22 else []
    done = subprocess.run(
        [node, *flags, "--test", "--test-reporter=tap", str(HERE / file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return NodeRun(done.returncode, done.stdout + done.stderr)


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    return int(version.strip().lstrip("v").split(".")[0])


def chromium_path() -> str:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium package"
    return str(CHROMIUM)
