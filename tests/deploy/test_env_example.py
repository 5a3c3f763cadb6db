"""Settings from .env: the template lists every setting, and .env is read
after the environment, in development only."""

import re

import pytest

import shared.platform.config as config
from shared.platform.config import Settings
from tests.deploy.support import read


def test_env_example_lists_every_setting_and_nothing_else():
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", read(".env.example"), flags=re.M)
    assert sorted(set(Settings.model_fields) - set(names)) == [], "settings missing from .env.example"
    assert sorted(set(names) - set(Settings.model_fields)) == [], "names in .env.example the app does not read"
    assert len(names) == len(set(names))


@pytest.fixture
def env_file(tmp_path, monkeypatch):
    path = tmp_path / ".env"
    monkeypatch.setattr(config, "ENV_FILE", path)
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("EMAIL_FROM", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)
    config.reset_settings()
    yield path
    config.reset_settings()


def test_dotenv_is_read_in_development(env_file):
    env_file.write_text("EMAIL_FROM=Dotenv <dotenv@talenti.test>\n")
    assert config.get_settings().EMAIL_FROM == "Dotenv <dotenv@talenti.test>"


def test_environment_wins_over_dotenv(env_file, monkeypatch):
    env_file.write_text("EMAIL_FROM=Dotenv <dotenv@talenti.test>\n")
    monkeypatch.setenv("EMAIL_FROM", "Environment <env@talenti.test>")
    assert config.get_settings().EMAIL_FROM == "Environment <env@talenti.test>"


def test_dotenv_is_never_read_outside_development(env_file, monkeypatch):
    env_file.write_text("SITE_URL=https://dotenv.talenti.test\n")
    monkeypatch.setenv("APP_ENV", "test")
    assert config.get_settings().SITE_URL != "https://dotenv.talenti.test"


def test_dotenv_cannot_switch_the_app_out_of_development(env_file):
    """Only the environment decides the mode; production never reads .env."""
    env_file.write_text("APP_ENV=production\n")
    assert config.get_settings().APP_ENV == "development"
