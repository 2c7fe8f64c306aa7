"""Fixtures for the pipeline services: a scratch database on the real PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest

PG_SERVER = os.environ.get("ALTIUM2KICAD_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432")


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database, dropped afterwards (skips only when no server answers)."""
    from sqlalchemy import create_engine, text
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"a2k_lib_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {PG_SERVER} not reachable: {exc}")
    yield f"{PG_SERVER}/{name}"
    from include.library_db.database import engine
    engine.cache_clear()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
