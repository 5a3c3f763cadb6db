import json

import pytest

from shared.platform.config import ConfigurationError, Settings, get_settings, reset_settings
from tests.conftest import ROOT


def test_production_refuses_to_start_without_required_settings(monkeypatch):
    for name in ("DATABASE_URL", "SERVICE_API_KEY", "SITE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SITE_URL", "")
    reset_settings()
    try:
        with pytest.raises(ConfigurationError) as raised:
            get_settings()
        assert "DATABASE_URL" in str(raised.value) and "SERVICE_API_KEY" in str(raised.value)
    finally:
        monkeypatch.setenv("APP_ENV", "test")
        reset_settings()


def test_production_rejects_development_secrets(monkeypatch):
    from shared.platform.config import DEV_SERVICE_KEY

    with pytest.raises(ValueError, match="development secrets"):
        Settings(
            APP_ENV="production",
            DATABASE_URL="postgresql://x",
            SERVICE_API_KEY=DEV_SERVICE_KEY,
            SUPABASE_JWT_SECRET="s" * 40,
        )


def test_development_has_local_defaults():
    settings = Settings(APP_ENV="development", DATABASE_URL=None)
    assert settings.SUPABASE_JWT_SECRET and settings.SERVICE_API_KEY
    assert settings.auto_migrate is True
    assert settings.rate_limits()["ai/generate-shortlist"] == (5, 60)


def test_rate_limits_can_be_overridden_and_are_validated():
    settings = Settings(RATE_LIMITS='{"organisations": "3/10"}')
    assert settings.rate_limits()["organisations"] == (3, 10)
    assert settings.rate_limits()["acs/token"] == (60, 60)
    with pytest.raises(ValueError):
        Settings(RATE_LIMITS='{"organisations": "lots"}')
    with pytest.raises(ValueError):
        Settings(RATE_LIMITS="not json")
    with pytest.raises(ValueError, match="unknown route 'organisation'"):  # a typo must not turn a limit off
        Settings(RATE_LIMITS='{"organisation": "3/10"}')


def test_blank_optional_settings_count_as_unset():
    assert Settings(AI_API_KEY="  ", DATABASE_URL="").AI_API_KEY is None


def test_unresolved_key_vault_reference_counts_as_missing(monkeypatch):
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/service-api-key/)"
    monkeypatch.setenv("SERVICE_API_KEY", reference)
    assert reference != Settings(APP_ENV="development").SERVICE_API_KEY
    with pytest.raises(ValueError, match="SERVICE_API_KEY"):
        Settings(APP_ENV="production", DATABASE_URL="postgresql://x", SITE_URL="https://talenti.example")


def test_every_setting_is_documented_in_the_sample_and_the_readme():
    import json

    from shared.platform.config import PROJECT_ROOT

    sample = json.loads((PROJECT_ROOT / "local.settings.sample.json").read_text())["Values"]
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert [name for name in Settings.model_fields if name not in sample] == []
    assert [name for name in Settings.model_fields if f"`{name}`" not in readme] == []


def test_the_sample_settings_load_as_they_are(monkeypatch):
    """Copying local.settings.sample.json must give a working app: blank optional values mean unset."""
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(**{k: v for k, v in sample.items() if k in Settings.model_fields})
    assert settings.DB_AUTO_MIGRATE is None and settings.TRUSTED_PROXY_HOPS is None
    assert settings.proxy_hops == 0 and settings.auto_migrate is True
