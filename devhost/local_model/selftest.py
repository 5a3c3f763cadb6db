"""The self-test: a child process loads the model and generates a few tokens.

A llama.cpp build that uses an instruction the CPU (or its hypervisor) does not
allow dies with SIGILL or SIGSEGV on its first decode. Run in a child, that
crash becomes a verdict with its reason instead of killing the process that
asked (pytest, the local host). The verdict is kept in .local/models so the
local host can say at once why the model is unusable on this machine.
"""

from __future__ import annotations

import json
import platform
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERDICT_FILE = ROOT / ".local" / "models" / "selftest.json"
TIMEOUT_SECONDS = 300.0  # loading 100 MB and 8 tokens takes seconds; minutes means a hang
# CPU features that decide which llama.cpp kernels can run here (the rest is noise in a message).
RELEVANT_FLAGS = ("avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8", "amx_bf16")
FIX = (
    "rebuild it portably with `rm -rf .venv/.model-* && make model` (it compiles llama.cpp for AVX2, "
    "docs/AI.md), or configure a hosted model (AI_PROVIDER, AI_MODEL and AI_API_KEY)"
)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # empty when ok
    cpu: str  # the CPU's model name and relevant flags, for the message and the verdict's validity
    build: str  # the llama.cpp build's key (devhost/local_model/install.py)

    def message(self) -> str:
        """What the 503 and the banner say when the model is unusable."""
        return f"The local AI model is unusable on this machine: {self.reason} (CPU: {self.cpu}); {FIX}"


def cpu_summary(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """`<model name> [flag flag ...]` with only the flags that choose kernels."""
    name, flags = platform.processor() or platform.machine(), set[str]()
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return f"{name} [{' '.join(flag for flag in RELEVANT_FLAGS if flag in flags)}]"


def describe_exit(returncode: int) -> str:
    """`crashed with SIGSEGV` for a signal, `exited with status N` otherwise."""
    if returncode < 0:
        try:
            return f"crashed with {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def run(build: str, command: list[str] | None = None, timeout: float = TIMEOUT_SECONDS) -> Verdict:
    """Runs the self-test child (by default `python -m devhost.local_model selftest`)."""
    command = command or [sys.executable, "-m", "devhost.local_model", "selftest"]
    cpu = cpu_summary()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Verdict(False, f"the self-test hung for {timeout:.0f} s while loading and generating", cpu, build)
    if done.returncode == 0:
        return Verdict(True, "", cpu, build)
    last = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    detail = f": {last[0][:300]}" if done.returncode > 0 and last[0] else ""
    return Verdict(False, f"llama.cpp {describe_exit(done.returncode)} in the self-test{detail}", cpu, build)


def save(verdict: Verdict, path: Path = VERDICT_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(asdict(verdict), indent=2))
    partial.replace(path)


def load(build: str, path: Path = VERDICT_FILE) -> Verdict | None:
    """The kept verdict, if it is about this build on this CPU."""
    try:
        verdict = Verdict(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return verdict if verdict.build == build and verdict.cpu == cpu_summary() else None


def child_main() -> int:
    """The child's side: load the installed model in a small context and say a few words."""
    from devhost.local_model.engine import Engine, first_words, runtime_model
    from shared.ai.local_model import model_file

    path = model_file()
    if path is None:
        print("the model package is not installed", file=sys.stderr)
        return 2
    text = first_words(Engine(runtime_model(path), parallel=1, context=512))
    print(f"self-test: {text.strip()[:60]!r}", flush=True)
    return 0


def verdict_for_installed() -> Verdict:
    """The kept verdict about the installed build on this CPU, or a fresh one (then kept)."""
    from devhost.local_model.install import installed_record

    build = str((installed_record() or {}).get("key", "unknown"))
    verdict = load(build)
    if verdict is None:
        verdict = run(build)
        save(verdict)
    return verdict
