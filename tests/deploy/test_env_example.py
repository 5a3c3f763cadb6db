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
    monkeypatch.setenv("APP_ENV", "development")
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


@pytest.mark.parametrize("value", [None, "", "staging", "Development", "prod"])
def test_an_unset_or_unknown_app_env_is_production(env_file, monkeypatch, value):
    """Fail closed: without APP_ENV=development or test, no .env is read, the development
    secrets are refused and every production setting is required."""
    env_file.write_text("APP_ENV=development\nDATABASE_URL=postgresql://dotenv/x\n")
    if value is None:
        monkeypatch.delenv("APP_ENV", raising=False)
    else:
        monkeypatch.setenv("APP_ENV", value)
    with pytest.raises(config.ConfigurationError, match="missing required setting"):
        config.get_settings()
    production = {"DATABASE_URL": "postgresql://x", "SUPABASE_URL": "https://p.supabase.co", "SITE_URL": "https://t"}
    for name, setting in production.items():
        monkeypatch.setenv(name, setting)
    monkeypatch.setenv("SERVICE_API_KEY", config.DEV_SERVICE_KEY)
    with pytest.raises(config.ConfigurationError, match="development secrets"):
        config.get_settings()
    monkeypatch.setenv("SERVICE_API_KEY", "a-real-key-from-key-vault")
    config.reset_settings()
    settings = config.get_settings()
    assert settings.is_production and settings.APP_ENV == "production"
