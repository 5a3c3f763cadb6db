"""Fixtures of the database tests: each test module gets a database of its own,
every test runs in a transaction that is rolled back, and `s` seeds it
(tests/db/helpers.py)."""

from __future__ import annotations

import psycopg
import pytest

from tests.db.helpers import seed


@pytest.fixture(scope="module")
def schema_database():
    """A database of each test module's own: the visibility checks count every row."""
    from tests.conftest import fresh_database

    with fresh_database() as url:
        yield url


@pytest.fixture
def conn(schema_database):
    """A superuser connection inside a transaction, rolled back afterwards."""
    with psycopg.connect(schema_database) as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def s(conn):
    return seed(conn)
