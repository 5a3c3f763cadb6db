"""devhost's process helpers when things go wrong: Azurite missing or unable to
start, a local host that cannot start, and what the host's banner shows of its
settings."""

from __future__ import annotations

import os
import socket

import pytest

import devhost.__main__ as devhost_main
from devhost import azurite
from devhost.launch import start_devhost


def test_a_missing_azurite_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(azurite, "ROOT", tmp_path)
    with pytest.raises(azurite.AzuriteMissing, match="make deps"), azurite.running_azurite(tmp_path):
        pass


@pytest.mark.io
def test_an_azurite_that_cannot_listen_is_reported_not_waited_for(tmp_path):
    with socket.socket() as taken:  # bound, not listening: Azurite cannot have the port, nothing answers
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="Azurite did not start"), azurite.running_azurite(tmp_path, port=port):
            pass
    assert not any(tmp_path.iterdir())  # its in-memory workspace is removed


@pytest.mark.io
def test_a_host_that_cannot_start_is_an_error_with_its_log(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="devhost did not start") as failed:
            start_devhost(
                {"APP_ENV": "test", "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "DB_AUTO_MIGRATE": "false"},
                port=port,
                log_path=tmp_path / "host.log",
                timeout=60,
            )
    assert "address already in use" in str(failed.value).lower()


def test_local_settings_fill_the_environment_without_overriding_it(tmp_path, monkeypatch):
    (tmp_path / "local.settings.json").write_text(
        '{"IsEncrypted": false, "Values": {"TALENTI_TEST_A": "from file", "TALENTI_TEST_B": 5}}'
    )
    monkeypatch.setattr(devhost_main, "ROOT", tmp_path)
    monkeypatch.setenv("TALENTI_TEST_A", "from the environment")
    monkeypatch.delenv("TALENTI_TEST_B", raising=False)
    devhost_main.load_local_settings()
    assert os.environ["TALENTI_TEST_A"] == "from the environment"
    assert os.environ["TALENTI_TEST_B"] == "5"
    monkeypatch.delenv("TALENTI_TEST_B")


def test_the_banner_never_prints_a_database_url_it_cannot_parse():
    class Settings:
        DATABASE_URL = "postgresql://user:secret@host:5432/db?sslmode=bogus=x=y"  # not a conninfo

    line = devhost_main.database_line(Settings())
    assert "secret" not in line
    Settings.DATABASE_URL = "host=db.example port=6543 dbname=talenti password=secret"
    assert devhost_main.database_line(Settings()) == "DATABASE_URL db.example:6543/talenti"
    Settings.DATABASE_URL = "not a url at all ==="
    assert devhost_main.database_line(Settings()) == "DATABASE_URL (unparsable)"
