"""The migration runner: every file once, through a transaction-mode pooler too,
with concurrent runners, and never waiting without bound on someone else's lock."""

import shutil
import threading
import uuid
from contextlib import contextmanager

import psycopg
import pytest

from shared.platform import migrate as migrate_module
from shared.platform.migrate import MIGRATIONS_DIR, MigrationError, migrate
from tests.conftest import _server_url, _with_database

FILES = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))


def test_every_migration_is_recorded_and_a_second_run_applies_nothing(database_url):
    with psycopg.connect(database_url) as conn:
        recorded = [r[0] for r in conn.execute("select name from app.schema_migrations order by name")]
    assert recorded == FILES
    assert migrate(database_url) == []


@pytest.fixture
def empty_database():
    """A database of its own with nothing applied, dropped afterwards."""
    server = _server_url()
    name = f"talenti_migrate_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield _with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


class TransactionModePooler:
    """What a client sees through PgBouncer/Supavisor in transaction mode: one client
    connection, while each transaction, and each statement outside one, runs on
    whichever server connection is next (here: two real ones, in turn). Session state
    (SET, session advisory locks) stays behind on a server connection the client may
    never get again; closing the client leaves the server connections open."""

    def __init__(self, url: str, servers: int = 2):
        self.url = url
        self.servers = [_real_connect(url, autocommit=True) for _ in range(servers)]
        self._turn = 0
        self._pinned: psycopg.Connection | None = None
        self.autocommit = True

    def _next(self) -> psycopg.Connection:
        server = self.servers[self._turn % len(self.servers)]
        self._turn += 1
        return server

    def execute(self, query, params=None):
        return (self._pinned or self._next()).execute(query, params)

    @contextmanager
    def transaction(self):
        assert self._pinned is None, "the runner does not nest transactions"
        self._pinned = self._next()
        try:
            with self._pinned.transaction():
                yield self
        finally:
            self._pinned = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False  # the client goes; the pooler keeps its server connections

    def advisory_locks_held(self) -> list[tuple[int, int]]:
        """(server backend pid, advisory locks it holds) for each server connection."""
        pids = [s.info.backend_pid for s in self.servers]
        with _real_connect(self.url, autocommit=True) as observer:
            rows = observer.execute(
                "select pid, count(*) from pg_locks where locktype = 'advisory' and granted and pid = any(%s)"
                " group by pid",
                (pids,),
            ).fetchall()
        held = dict(rows)
        return [(pid, held.get(pid, 0)) for pid in pids]

    def close(self) -> None:
        for server in self.servers:
            server.close()


_real_connect = psycopg.connect

# A migration file that fails unless the server connection running it holds an advisory lock.
LOCK_PROBE = """
do $$ begin
    if not exists (select 1 from pg_locks where locktype = 'advisory' and granted and pid = pg_backend_pid()) then
        raise exception 'this migration ran without the migration lock on its own server connection';
    end if;
end $$;
"""


def _recorded(url: str) -> list[str]:
    with _real_connect(url) as conn:
        return [r[0] for r in conn.execute("select name from app.schema_migrations order by name")]


@pytest.mark.parametrize("extra_files", [0, 1])
def test_through_a_transaction_mode_pooler_no_advisory_lock_is_left_held(
    empty_database, tmp_path, monkeypatch, extra_files
):
    """Each transaction and autocommit statement goes to one of two server connections
    in turn. The migrations must all apply once, each while its own server connection
    holds the lock (the probe file checks), and leave no advisory lock on either
    server connection (a leaked one would block every later run forever). One extra
    file shifts which server each statement lands on."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    for n in range(extra_files):
        (directory / f"998_extra_{n}.sql").write_text(f"create table app.extra_{n} (id int primary key);")
    (directory / "999_probe.sql").write_text(LOCK_PROBE)
    expected = sorted(p.name for p in directory.glob("*.sql"))
    pooler = TransactionModePooler(empty_database)
    # Patched where the runner connects, so the runner is judged as it would be deployed.
    monkeypatch.setattr(psycopg, "connect", lambda *args, **kwargs: pooler)
    try:
        applied = migrate(empty_database, directory)
        assert pooler._turn > 2, "the harness handed out several transactions"
        assert pooler.advisory_locks_held() == [(s.info.backend_pid, 0) for s in pooler.servers]
        assert applied == expected
        assert _recorded(empty_database) == expected
        assert migrate(empty_database, directory) == []  # and a later run is not blocked by anything
        assert pooler.advisory_locks_held() == [(s.info.backend_pid, 0) for s in pooler.servers]
    finally:
        monkeypatch.undo()
        pooler.close()


def _slow_files(directory):
    """Files that fail if applied twice; the first is slow, so two runners overlap."""
    directory.mkdir()
    (directory / "001_slow.sql").write_text("select pg_sleep(0.5); create table app.once_a (id int primary key);")
    (directory / "002_b.sql").write_text("create table app.once_b (id int primary key);")
    (directory / "003_c.sql").write_text("insert into app.once_a values (1); create table app.once_c (id int);")
    return ["001_slow.sql", "002_b.sql", "003_c.sql"]


@pytest.mark.parametrize("through_pooler", [False, True])
def test_two_runners_at_once_apply_each_file_once(empty_database, tmp_path, through_pooler):
    names = _slow_files(tmp_path / "migrations")
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    poolers = [TransactionModePooler(empty_database) for _ in range(2)] if through_pooler else []

    def run(i: int) -> None:
        try:
            start.wait()
            through = {"connect": lambda: poolers[i]} if through_pooler else {}
            # lock_timeout far below the slow file: waiting for the other runner is not a lock timeout
            results[i] = migrate(empty_database, tmp_path / "migrations", lock_timeout=0.1, **through)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        assert sorted(results[0] + results[1]) == names  # each file by exactly one runner
        assert _recorded(empty_database) == names
        for pooler in poolers:
            assert all(count == 0 for _, count in pooler.advisory_locks_held())
    finally:
        for pooler in poolers:
            pooler.close()


def test_a_migration_blocked_by_another_sessions_lock_fails_within_lock_timeout(empty_database, tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "001_table.sql").write_text("create table app.busy (id int primary key);")
    assert migrate(empty_database, directory) == ["001_table.sql"]
    (directory / "002_alter.sql").write_text("alter table app.busy add column note text;")
    outcome: list[BaseException | list[str]] = []
    with _real_connect(empty_database) as holder:
        holder.execute("lock table app.busy in access share mode")  # a long read, say: open transaction
        worker = threading.Thread(
            target=lambda: outcome.append(_capture(lambda: migrate(empty_database, directory, lock_timeout=0.5)))
        )
        worker.start()
        worker.join(timeout=15)
        still_waiting = worker.is_alive()
        holder.rollback()  # let an old-style runner go, whatever it did
    worker.join(timeout=15)
    assert not still_waiting, "the runner waited for the lock without bound"
    assert len(outcome) == 1 and isinstance(outcome[0], MigrationError), outcome
    message = str(outcome[0])
    assert "002_alter.sql" in message and "lock_timeout" in message and "nothing of it was applied" in message
    assert _recorded(empty_database) == ["001_table.sql"]
    assert migrate(empty_database, directory) == ["002_alter.sql"]  # once the blocker is gone


def test_a_migration_that_runs_too_long_fails_with_statement_timeout(empty_database, tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "001_slow.sql").write_text("create table app.never (id int); select pg_sleep(5);")
    with pytest.raises(MigrationError, match="001_slow.sql.*statement_timeout"):
        migrate(empty_database, directory, statement_timeout=0.3)
    assert _recorded(empty_database) == []
    with _real_connect(empty_database) as conn:
        assert conn.execute("select to_regclass('app.never')").fetchone()[0] is None


def _capture(fn):
    try:
        return fn()
    except BaseException as exc:
        return exc


def test_the_timeouts_are_local_to_each_migration_transaction(empty_database, tmp_path):
    """Nothing session-level survives: after a run, the connection it used has the
    server's own timeouts again (a pooler would hand it to the app next)."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "001_t.sql").write_text("create table app.t (id int);")
    with _real_connect(empty_database, autocommit=True) as conn:
        before = conn.execute("select current_setting('lock_timeout'), current_setting('statement_timeout')").fetchone()

        class Borrowed:  # the runner's connection, kept open to look at afterwards
            def __enter__(self):
                return conn

            def __exit__(self, *exc_info):
                return False

        migrate(empty_database, directory, lock_timeout=1.5, statement_timeout=7, connect=Borrowed)
        after = conn.execute("select current_setting('lock_timeout'), current_setting('statement_timeout')").fetchone()
        locks = conn.execute("select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()")
        assert after == before and locks.fetchone()[0] == 0


def test_the_migrate_command_in_production_needs_only_its_own_url(empty_database, monkeypatch, capsys):
    """The deploy workflow's job has the migration URL and nothing of the app's secrets."""
    for name in ("DATABASE_URL", "SERVICE_API_KEY", "SITE_URL", "SUPABASE_JWT_SECRET", "MIGRATIONS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    assert migrate_module.main() == 1
    assert "MIGRATIONS_DATABASE_URL is required" in capsys.readouterr().err
    monkeypatch.setenv("MIGRATIONS_DATABASE_URL", empty_database)
    assert migrate_module.main() == 0
    assert f"applied {len(FILES)} migration(s)" in capsys.readouterr().out
    assert _recorded(empty_database) == FILES
