import psycopg

from shared.platform.migrate import MIGRATIONS_DIR, migrate


def test_every_migration_is_recorded_and_a_second_run_applies_nothing(database_url):
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    with psycopg.connect(database_url) as conn:
        recorded = [r[0] for r in conn.execute("select name from app.schema_migrations order by name")]
    assert recorded == files
    assert migrate(database_url) == []
