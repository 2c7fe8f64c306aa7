"""Two people editing one deployed part at once, on a real PostgreSQL parts database.

The must-show cases: the stale edit is refused (optimistic), or wins (last_write_wins), and two
edits of different fields merge. Edits go through `altium2kicad-admin parts edit` (two threads,
released together) and the plugin's REST API over HTTP; the outcome is read back from the database
and from the library database's audit log.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

from include.operations.admin import main as admin
from tests.include.sites.conftest import deploy_parts, write_config
from tests.include.test_report_plugin import metadata_db, simple_auth_manager  # noqa: F401 (fixtures)

KEY = "R-0001"
PART_ID = "1-Ui0wMDAx"  # category 1 (Resistors), key R-0001


def configure(home, strategy="reject", merge=True, locking="optimistic", auto_release=True, timeout=300):
    write_config(
        home,
        f"""
        concurrency:
          locking: {{type: {locking}, timeout: {timeout}, auto_release: {str(auto_release).lower()}}}
          conflict_resolution: {{strategy: {strategy}, merge_support: {str(merge).lower()}}}
          transaction_isolation: read_committed
        """,
    )
    from include.sites import http_library

    http_library._catalogs.clear()


def edit(actor, *assignments, version=None):
    args = ["parts", "edit", "--environment", "testing", "--library", "Parts", "--category", "Resistors"]
    args += ["--key", KEY, "--actor", actor] + [a for s in assignments for a in ("--set", s)]
    if version is not None:
        args += ["--version", str(version)]
    return admin(args)


def row(url) -> dict:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return dict(
                conn.execute(text('SELECT * FROM resistors WHERE "Key" = :k'), {"k": KEY}).mappings().one()
            )
    finally:
        eng.dispose()


def audit_actions(home) -> list[tuple[str, str]]:
    from include.library_db.store import LibraryStore

    return [
        (e.actor, e.action)
        for e in LibraryStore(f"sqlite:///{home / 'library.db'}").audit_log("parts/testing")
    ]


def concurrently(*edits) -> list[int]:
    """Runs the edits in threads released at the same moment; their exit codes in order."""
    barrier = threading.Barrier(len(edits))
    codes: list[int | None] = [None] * len(edits)

    def one(i, fn):
        barrier.wait()
        codes[i] = fn()

    threads = [threading.Thread(target=one, args=(i, fn)) for i, fn in enumerate(edits)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


@pytest.fixture
def deployed(site_home, pg_url):
    deploy_parts(site_home, "testing", pg_url)
    return site_home, pg_url


def test_the_stale_edit_is_refused(deployed, capsys):
    home, url = deployed
    configure(home)
    codes = concurrently(
        lambda: edit("alice", "Value=2k2", version=1), lambda: edit("bob", "Value=3k3", version=1)
    )
    assert sorted(codes) == [0, 4]  # exactly one wins the race; the other is told it is stale
    winner, loser = ("alice", "bob") if codes[0] == 0 else ("bob", "alice")
    after = row(url)
    assert after["Value"] == {"alice": "2k2", "bob": "3k3"}[winner] and after["row_version"] == 2
    assert "version 1 is stale (now 2) and Value changed since" in capsys.readouterr().err
    assert sorted(audit_actions(home)) == sorted([(winner, "part_edited"), (loser, "part_edit_refused")])
    # read again, based on the current version: accepted
    assert edit(loser, "Value=4k7", version=2) == 0 and row(url)["Value"] == "4k7"
    assert edit(loser, "Value=5k", version=None) == 2  # a version is required unless last_write_wins


def test_the_stale_edit_wins_with_last_write_wins(deployed):
    home, url = deployed
    configure(home, strategy="last_write_wins")
    assert edit("alice", "Value=2k2", version=1) == 0
    assert edit("bob", "Value=3k3", version=1) == 0  # stale, applied anyway
    after = row(url)
    assert after["Value"] == "3k3" and after["row_version"] == 3
    assert edit("carol", "Value=10k") == 0  # no version needed


def test_edits_of_different_fields_merge(deployed):
    home, url = deployed
    configure(home)
    codes = concurrently(
        lambda: edit("alice", "Value=2k2", version=1), lambda: edit("bob", "Manufacturer=Vishay", version=1)
    )
    assert codes == [0, 0]
    after = row(url)
    assert (after["Value"], after["Manufacturer"], after["row_version"]) == ("2k2", "Vishay", 3)
    # without merge_support the same pair conflicts
    configure(home, merge=False)
    assert edit("alice", "Value=1k", version=3) == 0
    assert edit("bob", "Manufacturer=Yageo", version=3) == 4


def test_explicit_locks_time_out_and_release(deployed, monkeypatch, capsys):
    home, url = deployed
    configure(home, timeout=60)
    base = ["--environment", "testing", "--library", "Parts", "--category", "1", "--key", KEY]
    assert admin(["parts", "lock", *base, "--actor", "alice"]) == 0
    assert edit("bob", "Value=9k", version=1) == 5  # locked by alice
    assert edit("alice", "Value=8k", version=1) == 0  # the holder may write
    from include.sites import part_edits

    later = part_edits.now() + timedelta(seconds=61)
    monkeypatch.setattr(part_edits, "now", lambda: later)
    configure(home, timeout=60, auto_release=False)
    assert edit("bob", "Value=9k", version=2) == 5  # lapsed, but held until released
    configure(home, timeout=60, auto_release=True)
    assert edit("bob", "Value=9k", version=2) == 0  # lapsed locks free themselves
    configure(home, locking="pessimistic")
    assert edit("carol", "Value=7k", version=3) == 5  # pessimistic: the lock first
    assert admin(["parts", "lock", *base, "--actor", "carol"]) == 0
    assert edit("carol", "Value=7k", version=3) == 0
    assert admin(["parts", "unlock", *base, "--actor", "carol"]) == 0
    assert row(url)["Value"] == "7k"
    assert admin(["parts", "show", *base]) == 0
    assert '"version": 4' in capsys.readouterr().out
    assert admin(["parts", "show", *base[:-1], "NOPE"]) == 3


def test_rest_patch_needs_an_editor_and_answers_409_when_stale(deployed, parts_server, simple_auth_manager):  # noqa: F811
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    home, url = deployed
    configure(home)
    part = f"{parts_server}/testing/Parts/v1/parts/{PART_ID}.json"
    body = {"fields": {"Value": "2k2"}}
    anonymous = httpx.patch(part, json=body)
    assert anonymous.status_code == 401, anonymous.text
    viewer = simple_auth_manager.generate_jwt(SimpleAuthManagerUser(username="vera", role="viewer"))
    assert httpx.patch(part, json=body, headers={"Authorization": f"Bearer {viewer}"}).status_code == 403

    def editor(name):
        jwt = simple_auth_manager.generate_jwt(SimpleAuthManagerUser(username=name, role="user"))
        return {"Authorization": f"Bearer {jwt}"}

    first = httpx.patch(part, json=body, headers={**editor("alice"), "If-Match": '"1"'})
    assert first.status_code == 200, first.text
    assert first.json() == {"id": PART_ID, "version": 2, "resolution": "applied"}
    assert first.headers["ETag"] == '"2"'
    stale = httpx.patch(part, json={"fields": {"Value": "3k3"}}, headers={**editor("bob"), "If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and stale.json()["conflicting_fields"] == ["Value"]
    merged = httpx.patch(part, json={"fields": {"Manufacturer": "KOA"}, "version": 1}, headers=editor("bob"))
    assert merged.status_code == 200 and merged.json()["resolution"] == "merged"
    assert (
        httpx.patch(part, json={"fields": {"Key": "X"}, "version": 3}, headers=editor("bob")).status_code
        == 422
    )
    missing = httpx.patch(
        f"{parts_server}/testing/Parts/v1/parts/1-TUlTU0lORw.json", json=body, headers=editor("bob")
    )
    assert missing.status_code == 404, missing.text
    assert "no part 'MISSING'" in missing.json()["detail"]
    assert (row(url)["Value"], row(url)["Manufacturer"]) == ("2k2", "KOA")
    assert audit_actions(home) == [
        ("alice", "part_edited"),
        ("bob", "part_edit_refused"),
        ("bob", "part_edited"),
        ("bob", "part_edit_refused"),
    ]


def test_partitioned_database_keeps_serving_and_editing(deployed, capsys):
    """`parts partition` moves the deployed tables into one partitioned table behind views; KiCad's
    names and rows stay, and edits (through the views) keep their optimistic locking."""
    home, url = deployed
    from include.config import load_config
    from include.sites.http_library import catalog

    before = catalog("testing", "Parts").parts("1")
    configure(home)
    target = ["parts", "partition", "--environment", "testing", "--library", "Parts", "--actor", "admin"]
    assert admin(target) == 2  # sharding is off
    assert "sharding.enabled is false" in capsys.readouterr().err
    path = home / "altium2kicad.yaml"
    path.write_text(
        path.read_text()
        + "database: {scaling: {sharding: {enabled: true, number_of_shards: 2, method: hash}}}\n"
    )
    assert load_config().database.scaling.sharding.method == "hash"
    assert admin(target) == 0
    assert "6 parts of 2 categories in Parts_parts, hash partitions (2)" in capsys.readouterr().out
    eng = create_engine(url)
    with eng.connect() as conn:
        kinds = dict(
            conn.execute(
                text("SELECT relname, relkind FROM pg_class WHERE relname IN ('resistors', 'Parts_parts')")
            ).all()
        )
    eng.dispose()
    assert kinds == {"resistors": "v", "Parts_parts": "p"}
    assert catalog("testing", "Parts").parts("1") == before
    codes = concurrently(
        lambda: edit("alice", "Value=2k2", version=1), lambda: edit("bob", "Value=3k3", version=1)
    )
    assert sorted(codes) == [0, 4]
    assert row(url)["row_version"] == 2
    assert ("admin", "parts_partitioned") in audit_actions(home)


def test_edits_run_at_the_configured_isolation(deployed):
    from include.sites.http_library import catalog

    home, _ = deployed
    for wanted, level in (("read_committed", "READ COMMITTED"), ("serializable", "SERIALIZABLE")):
        path = write_config(home, f"concurrency: {{transaction_isolation: {wanted}}}\n")
        assert path.exists()
        from include.sites import http_library

        http_library.forget_catalogs()
        with catalog("testing", "Parts", writable=True).engine.connect() as conn:
            assert conn.get_isolation_level() == level


def test_edits_notify_when_configured(deployed, monkeypatch):
    """`concurrency.notify_on_change`: each edit also goes to the Slack webhook (a real HTTP server)."""
    import json

    from tests.include.operations.test_monitoring import Endpoint

    home, _ = deployed
    webhook = Endpoint()
    monkeypatch.setenv(
        "AIRFLOW_CONN_PART_EDITS",
        json.dumps({"conn_type": "slackwebhook", "host": webhook.url, "password": "T0/B0/X0"}),
    )
    try:
        routes = (
            "notifications: {channels: {slack: {conn_id: part_edits}}, "
            "events: {part_edited: {channels: [slack]}}}\n"
        )
        write_config(home, routes)
        assert edit("alice", "Value=2k2", version=1) == 0
        assert webhook.posts == []  # notify_on_change is off
        write_config(home, routes + "concurrency: {notify_on_change: true}\n")
        assert edit("alice", "Value=3k3", version=2) == 0
        assert len(webhook.posts) == 1
        assert "alice part edited" in webhook.posts[0]["text"] and "3k3" in webhook.posts[0]["text"]
    finally:
        webhook.close()
