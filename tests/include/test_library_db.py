"""The library database: Alembic builds the schema; writes are idempotent upserts."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from include.library_db.database import VERSION_TABLE, engine
from include.library_db.store import LibraryStore


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/lib.db"
    return request.getfixturevalue("pg_url")


def test_alembic_creates_schema_once(db_url):
    store = LibraryStore(db_url)
    store.start_run("r1", "dag", "src", "development", "basic", "/tmp/w")
    tables = set(inspect(engine(db_url)).get_table_names())
    assert {
        "migration_run",
        "source_item",
        "converted_item",
        "mapping_rules_version",
        "gate_result",
        "progress_metric",
        "audit_log",
        VERSION_TABLE,
    } <= tables


def test_rerun_upserts_without_duplicates(db_url):
    store = LibraryStore(db_url)
    store.start_run("r1", "dag", "src", "development", "basic", "/tmp/w")
    rows = [
        dict(source="A.SchLib", item="R1", kind="symbol", target="A:R1", status="ok", messages=[]),
        dict(source="A.SchLib", item="R2", kind="symbol", target="A:R2", status="warning", messages=["m"]),
    ]
    for _ in range(2):
        store.put_converted_items("r1", "full", rows)
        store.put_source_items("r1", [dict(library="A.SchLib", item="R1", kind="symbol", facts={"pins": 2})])
        store.put_metrics("r1", {"components_migrated": (2, "items")})
        store.put_gate("r1", "symbols", "basic", True, {"failed": []})
    rows[1]["status"] = "failed"
    store.put_converted_items("r1", "full", rows)
    assert store.status_counts("r1") == {"ok": 1, "failed": 1}
    assert len(store.source_items("r1")) == 1
    assert store.metrics("r1")["components_migrated"].value == 2
    assert len(store.gates("r1")) == 1
    # a later attempt that no longer holds an item replaces the rows, it does not keep the old one
    store.put_converted_items("r1", "full", rows[:1])
    store.put_converted_items("r1", "test", rows)
    store.put_source_items("r1", [dict(library="A.SchLib", item="R9", kind="symbol")])
    assert [r.item for r in store.converted_items("r1", "full")] == ["R1"]
    assert len(store.converted_items("r1", "test")) == 2
    assert [i.item for i in store.source_items("r1")] == ["R9"]


def test_mapping_rules_are_versioned_by_content(db_url):
    store = LibraryStore(db_url)
    v1 = store.put_mapping_rules("r1", "field_renames: {}\n", "generated", "alice")
    assert store.put_mapping_rules("r2", "field_renames: {}\n", "generated", "bob") == v1
    v2 = store.put_mapping_rules("r2", "field_renames: {a: b}\n", "edited", "bob")
    assert v2 == v1 + 1
    assert store.mapping_rules(v2).content == "field_renames: {a: b}\n"
    actions = [(a.actor, a.action) for a in store.audit_log("r1") + store.audit_log("r2")]
    assert actions == [("alice", "mapping_rules_version"), ("bob", "mapping_rules_version")]


AWKWARD = 'tab\there, line\nbreak, cr\r, back\\slash \\N, quote "x", µ Ω 電阻, trailing\\'


def test_bulk_rows_keep_every_character(db_url):
    """The inventory and conversion rows go by COPY on PostgreSQL (psycopg2 and psycopg): tabs,
    newlines, backslashes, `\\N` and JSON quotes arrive as written, on both drivers and on SQLite."""
    urls = [db_url]
    if db_url.startswith("postgresql+psycopg2://"):
        urls.append(db_url.replace("postgresql+psycopg2://", "postgresql+psycopg://"))
    assert len(urls) == 2 or db_url.startswith("sqlite")  # PostgreSQL: both drivers, always
    for n, url in enumerate(urls):
        _bulk_rows_round_trip(LibraryStore(url), f"r{n}")


def _bulk_rows_round_trip(store: LibraryStore, run_id: str) -> None:
    store.start_run(run_id, "dag", "src", "development", "basic", "/tmp/w")
    facts = {"key": AWKWARD, "refs": [AWKWARD, ""], "n": 3, "none": None}
    sources = [dict(library=f"L{i}", item=f"{AWKWARD} {i}", kind="part", facts=facts) for i in range(3)]
    assert store.put_source_items(run_id, sources) == 3
    converted = [
        dict(source="L", item=AWKWARD, kind="part", target="", status="warning", messages=[AWKWARD, "b"]),
        dict(source="L", item="R2", kind="part", target=AWKWARD, status="ok", messages=[]),
    ]
    store.put_converted_items(run_id, "full", converted)
    store.put_converted_items(run_id, "full", converted)  # a retry replaces, never duplicates
    got = store.source_items(run_id)
    assert [(i.library, i.item, i.facts) for i in got] == [(s["library"], s["item"], facts) for s in sources]
    rows = sorted(store.converted_item_rows(run_id), key=lambda r: r.item)
    assert [(r.item, r.target, r.messages) for r in rows] == [
        ("R2", AWKWARD, []),
        (AWKWARD, "", [AWKWARD, "b"]),
    ]
