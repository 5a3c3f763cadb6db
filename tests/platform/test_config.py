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


def _db_settings(**values):
    from shared.platform.config import DatabaseSettings

    return DatabaseSettings(**{"DATABASE_URL": None, "MIGRATIONS_DATABASE_URL": None, **values})


SESSION_POOLER = "postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:5432/postgres?sslmode=require"
TRANSACTION_POOLER = SESSION_POOLER.replace(":5432/", ":6543/")


def test_production_migrations_need_their_own_url_never_the_transaction_pooler():
    from shared.platform.config import resolve_migrations_url

    with pytest.raises(ConfigurationError, match="MIGRATIONS_DATABASE_URL is required"):
        resolve_migrations_url(_db_settings(APP_ENV="production", DATABASE_URL=TRANSACTION_POOLER))
    for refused in (TRANSACTION_POOLER, "host=a,b port=5432,6543 dbname=postgres"):
        with pytest.raises(ConfigurationError, match="port 6543"):
            resolve_migrations_url(_db_settings(APP_ENV="production", MIGRATIONS_DATABASE_URL=refused))
    direct = "postgresql://postgres:pw@db.ref.supabase.co:5432/postgres"
    for accepted in (SESSION_POOLER, direct, "postgresql://postgres:pw@db.ref.supabase.co/postgres"):
        assert resolve_migrations_url(_db_settings(APP_ENV="production", MIGRATIONS_DATABASE_URL=accepted)) == accepted


def test_outside_production_migrations_use_the_apps_database_unless_told_otherwise():
    from shared.platform.config import resolve_migrations_url

    local = "postgresql://talenti:talenti@127.0.0.1:5432/talenti"
    assert resolve_migrations_url(_db_settings(APP_ENV="development", DATABASE_URL=local)) == local
    assert resolve_migrations_url(_db_settings(APP_ENV="test", DATABASE_URL=local, MIGRATIONS_DATABASE_URL="")) == local
    chosen = _db_settings(APP_ENV="development", DATABASE_URL=local, MIGRATIONS_DATABASE_URL=TRANSACTION_POOLER)
    assert resolve_migrations_url(chosen) == TRANSACTION_POOLER  # the runner is safe there; production is stricter


def test_migration_timeouts_have_defaults_and_bounds():
    settings = _db_settings(APP_ENV="test")
    assert (settings.MIGRATION_LOCK_TIMEOUT_SECONDS, settings.MIGRATION_STATEMENT_TIMEOUT_SECONDS) == (10.0, 300.0)
    with pytest.raises(ValueError):
        _db_settings(MIGRATION_LOCK_TIMEOUT_SECONDS="0")


def test_production_pool_starts_full_unless_told_otherwise():
    """DB_POOL_MIN defaults to DB_POOL_MAX in production: no connections are opened
    during a ramp (the load test's 503s), and DB_POOL_MAX alone is the instance's budget."""
    production = dict(
        APP_ENV="production", DATABASE_URL="postgresql://x", SERVICE_API_KEY="k" * 32, SITE_URL="https://t"
    )
    assert Settings(**production, DB_POOL_MAX="5").pool_min_size == 5
    assert Settings(**production, DB_POOL_MAX="5", DB_POOL_MIN="").pool_min_size == 5  # blank: unset
    assert Settings(**production, DB_POOL_MAX="5", DB_POOL_MIN="2").pool_min_size == 2  # an operator's choice
    assert Settings(APP_ENV="development", DB_POOL_MAX="5").pool_min_size == 1
    with pytest.raises(ValueError, match=r"DB_POOL_MIN \(6\) is more than DB_POOL_MAX \(5\)"):
        Settings(APP_ENV="development", DB_POOL_MAX="5", DB_POOL_MIN="6")


def test_the_app_pool_is_sized_from_the_settings(monkeypatch):
    from shared.platform.wiring import Services

    monkeypatch.setenv("APP_ENV", "production")
    for name, value in {
        "DATABASE_URL": "postgresql://x",
        "SERVICE_API_KEY": "k" * 32,
        "SITE_URL": "https://t",
        "DB_POOL_MAX": "4",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DB_POOL_MIN", raising=False)
    reset_settings()
    try:
        db = Services().db
        assert (db._min_size, db._max_size) == (4, 4)
    finally:
        monkeypatch.undo()
        reset_settings()
