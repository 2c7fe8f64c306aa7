"""Fixtures for the pipeline services: a scratch database on the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from tests.scratch_databases import PG_SERVER, create_database, drop_database


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database, dropped afterwards (skips only when no server answers)."""
    name = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    try:
        url = create_database("postgresql", name)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    yield url
    from include.library_db.database import engine

    engine.cache_clear()
    drop_database("postgresql", name)
