"""Fixtures for the pipeline services: a scratch database on the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from tests.scratch_databases import create_database, drop_database, require_server


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database, dropped afterwards (skips only when no server listens; a server
    that refuses CREATE DATABASE fails the test with its error)."""
    require_server("postgresql")
    name = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    url = create_database("postgresql", name)
    yield url
    from include.library_db.database import engine

    engine.cache_clear()
    drop_database("postgresql", name)
