"""`database.scaling` reaches the engines: pool sizes, read-only sessions, partitions for the runs."""

from __future__ import annotations

import pytest
import sqlalchemy
from sqlalchemy import text

from include.config import load_config
from include.sites.engines import make_engine
from tests.include.sites.conftest import parts_database, write_config

POOL = "database: {scaling: {connection_pool: {pool_size: 3, max_overflow: 2, pool_timeout: 7, pool_recycle: 60}}}\n"


def test_the_library_database_engine_takes_the_pool_sizes(site_home):
    from include.library_db.database import engine

    write_config(site_home, POOL)
    engine.cache_clear()
    try:
        eng = engine(f"sqlite:///{site_home / 'lib.db'}")
        assert (eng.pool.size(), eng.pool._max_overflow, eng.pool._timeout, eng.pool._recycle) == (
            3,
            2,
            7,
            60,
        )
    finally:
        engine.cache_clear()


def test_conversion_engines_take_the_pool_and_the_partitions(site_home, monkeypatch):
    """The run's ConvertOptions carry the pool to every engine the DbLib job opens, and the
    sharding settings to the PostgreSQL writer."""
    from converters.kicad.parts_database import write_tables
    from include.pipeline import RunContext

    write_config(
        site_home, POOL.replace("}}}", "}, sharding: {enabled: true, number_of_shards: 6, method: hash}}}")
    )
    options = RunContext("r", "d", {}, load_config(), "me").convert_options(site_home / "x.SchLib")
    assert (options.parts_partitions, options.partition_method) == (6, "hash")
    from include.sites.engines import pool_options

    seen = []
    real = sqlalchemy.create_engine

    def recording(url, **kwargs):
        seen.append(kwargs)
        return real(url, **kwargs)

    monkeypatch.setattr(sqlalchemy, "create_engine", recording)
    pool = pool_options(load_config().database.scaling, "sqlite:///x.db")
    assert not write_tables(parts_database(), f"sqlite:///{site_home / 'p.db'}", pool)
    assert seen and seen[0]["pool_size"] == 3 and seen[0]["max_overflow"] == 2


def test_read_only_sqlite_refuses_writes(site_home):
    from converters.kicad.parts_database import write_sqlite_file

    assert not write_sqlite_file(parts_database(), site_home / "p.sqlite")
    eng = make_engine(f"sqlite:///{site_home / 'p.sqlite'}", load_config().database.scaling, read_only=True)
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM resistors")).scalar() == 3
        with pytest.raises(sqlalchemy.exc.OperationalError, match="readonly"):
            with eng.begin() as conn:
                conn.execute(text("DELETE FROM resistors"))
    finally:
        eng.dispose()
