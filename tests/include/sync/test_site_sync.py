"""Three sites on this machine's PostgreSQL (a database each) and their stores (folders, one S3 via
moto): what changes at the primary arrives, conflicts resolve as configured, a sync killed midway
and re-run leaves no duplicates and loses nothing, and the lag is recorded."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from include.config import parse_config
from include.deployment import publish_local
from include.library_db.database import engine as library_engine
from include.library_db.models import AuditEntry, MappingRulesVersion, SyncLag, UserPreference
from include.library_db.store import LibraryStore
from include.sync import rows as sync_rows_module
from include.sync.run import measure, sync_site
from tests.scratch_databases import scratch_database

CONFIG = """
environments:
  production: {{validation_level: strict, target: {{kind: local, path: "{root}/deploy/production"}}}}
workflows: {{default_environment: production, test_environment: production}}
backup: {{keep_versions: 2}}
sites:
  hq: {{primary: true, location: Munich}}
  europe:
    database: {{conn_id: site_europe_db}}
    store: {{kind: local, path: "{root}/sites/europe"}}
    parts_database: {{conn_id: site_europe_parts}}
  asia:
    database: {{conn_id: site_asia_db}}
    store: {{kind: local, path: "{root}/sites/asia"}}
synchronization:
  strategy: {strategy}
  master_site: hq
  slave_sites: [europe, asia]
  conflict_resolution: {resolution}
  batch_size: 5
  lag_threshold_minutes: {threshold}
"""


@pytest.fixture
def sites(tmp_path, monkeypatch):
    """Four scratch PostgreSQL databases (hub, two sites, europe's parts server) wired as connections."""
    with (
        scratch_database("postgresql", "a2k_hub") as hub,
        scratch_database("postgresql", "a2k_eu") as eu,
        scratch_database("postgresql", "a2k_asia") as asia,
        scratch_database("postgresql", "a2k_eu_parts") as parts,
    ):
        monkeypatch.setenv("ALTIUM2KICAD_DB_URL", hub)
        monkeypatch.setenv("AIRFLOW_CONN_SITE_EUROPE_DB", _conn(eu))
        monkeypatch.setenv("AIRFLOW_CONN_SITE_ASIA_DB", _conn(asia))
        monkeypatch.setenv("AIRFLOW_CONN_SITE_EUROPE_PARTS", _conn(parts))
        yield {"root": tmp_path, "hub": hub, "europe": eu, "asia": asia, "parts": parts}
        library_engine.cache_clear()


def _conn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


def _config(sites, strategy="master_slave", resolution="master_wins", threshold=360):
    text = CONFIG.format(root=sites["root"], strategy=strategy, resolution=resolution, threshold=threshold)
    return parse_config(text, Path("sites.yaml"))


def _release(folder: Path, parts: list[tuple[str, str]], footprint: str) -> Path:
    """A deployed-library layout: a symbol library, a footprint, a parts database."""
    (folder / "symbols").mkdir(parents=True)
    (folder / "footprints/R.pretty").mkdir(parents=True)
    (folder / "database").mkdir()
    (folder / "symbols/R.kicad_sym").write_text("(kicad_symbol_lib (version 20241209))\n")
    (folder / "footprints/R.pretty/R_0603.kicad_mod").write_text(footprint)
    db = sqlite3.connect(folder / "database/Parts.sqlite")
    db.execute('CREATE TABLE "Resistors" ("Part Number" TEXT PRIMARY KEY, "Value" TEXT)')
    db.executemany('INSERT INTO "Resistors" VALUES (?, ?)', parts)
    db.commit()
    db.close()
    return folder


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _count(url: str, model) -> int:
    with Session(library_engine(url)) as s:
        return s.scalar(select(func.count()).select_from(model))


def _seed(store: LibraryStore, n: int, tag: str) -> None:
    for i in range(n):
        store.audit(f"run-{tag}", "alice", "test_action", {"i": i})
    store.put_mapping_rules(f"run-{tag}", f"rules: {tag}\n", f"generated {tag}", "alice")


ALL = ["component_libraries", "mapping_rules", "user_preferences", "audit_logs"]


def test_primary_changes_arrive_incrementally_with_lag_recorded(sites, tmp_path):
    cfg = _config(sites)
    prod = tmp_path / "deploy/production"
    publish_local(_release(tmp_path / "r1", [("R1", "10k"), ("R2", "1k")], "(footprint v1)\n"), prod, "v1")
    hub = LibraryStore(sites["hub"])
    _seed(hub, 12, "a")
    hub.set_preference("alice", "grid", {"mm": 1.27})

    for site in ("europe", "asia"):
        out = sync_site(cfg, site, ALL)
        assert out["component_libraries"]["switched"] and out["component_libraries"]["sent"] == 3
        assert out["audit_logs"]["push"]["written"] == 13  # 12 + the mapping rules' own entry
        assert out["audit_logs"]["lag_before_seconds"] > 0 and out["audit_logs"]["lag_after_seconds"] == 0
    for site in ("europe", "asia"):
        assert _tree(tmp_path / f"sites/{site}/current") == _tree(prod / "current")
        assert json.loads((tmp_path / f"sites/{site}/CURRENT").read_text())["version"] == "v1"
        assert _count(sites[site], AuditEntry) == _count(sites["hub"], AuditEntry) == 13
        assert _count(sites[site], MappingRulesVersion) == 1
        assert LibraryStore(sites[site]).preferences("alice") == {"grid": {"mm": 1.27}}
    # europe's parts server holds every row of the version's parts database
    with library_engine(sites["parts"]).connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text('SELECT COUNT(*) FROM "Resistors"')).scalar() == 2

    # a new version with one changed footprint and a new part; more rows
    publish_local(
        _release(tmp_path / "r2", [("R1", "10k"), ("R2", "1k"), ("R3", "4k7")], "(footprint v2)\n"),
        prod,
        "v2",
    )
    _seed(hub, 3, "b")
    out = sync_site(cfg, "europe", ALL)
    libs = out["component_libraries"]
    assert libs["version"] == "v2" and libs["previous"] == "v1"
    assert libs["sent"] == 2 and libs["reused"] == 1  # the footprint and the parts file travel; the rest not
    assert libs["tables_loaded"] == ["Resistors"]
    assert out["audit_logs"]["push"]["written"] == 4
    assert _tree(tmp_path / "sites/europe/current") == _tree(prod / "current")
    with library_engine(sites["parts"]).connect() as conn:
        from sqlalchemy import text

        assert conn.execute(text('SELECT COUNT(*) FROM "Resistors"')).scalar() == 3
    # nothing pending: a second sync moves nothing
    again = sync_site(cfg, "europe", ALL)
    assert again["component_libraries"]["sent"] == 0 and again["audit_logs"]["push"]["written"] == 0
    # lag: asia is behind (v2 not there, 4 audit rows), and every measurement was stored
    lag = measure(cfg, "asia", "audit_logs")
    assert lag["pending"] == 4 and lag["lag_seconds"] > 0
    assert measure(cfg, "asia", "component_libraries")["pending"] == 1
    assert measure(cfg, "europe", "component_libraries")["pending"] == 0
    with Session(library_engine(sites["hub"])) as s:
        assert s.scalar(select(func.count()).select_from(SyncLag).where(SyncLag.site == "asia")) >= 6
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action == "sync_lag_exceeded")).all()
    # over the threshold (here a few milliseconds): the sync still runs, and the alert is audited
    out = sync_site(_config(sites, threshold=0.0001), "asia", ["component_libraries"])
    assert out["component_libraries"]["switched"]
    with Session(library_engine(sites["hub"])) as s:
        alerts = s.scalars(select(AuditEntry).where(AuditEntry.action == "sync_lag_exceeded")).all()
        assert [(a.detail["site"], a.detail["item"]) for a in alerts] == [("asia", "component_libraries")]


def _edit_preference(url: str, user: str, key: str, value: dict) -> None:
    LibraryStore(url).set_preference(user, key, value)


def test_conflicting_edit_on_a_secondary_master_wins(sites, tmp_path):
    cfg = _config(sites)
    hub = LibraryStore(sites["hub"])
    hub.set_preference("bob", "theme", {"colour": "dark"})
    sync_site(cfg, "europe", ["user_preferences"])
    _edit_preference(sites["europe"], "bob", "theme", {"colour": "light"})  # a local edit at the site
    hub.set_preference("bob", "theme", {"colour": "blue"})
    out = sync_site(cfg, "europe", ["user_preferences"])
    assert out["user_preferences"]["push"]["conflicts"][0]["kept"] == "incoming"
    assert LibraryStore(sites["europe"]).preferences("bob") == {"theme": {"colour": "blue"}}
    with Session(library_engine(sites["hub"])) as s:
        audited = s.scalars(select(AuditEntry).where(AuditEntry.action == "sync_conflict")).all()
        assert audited and audited[0].detail["strategy"] == "master_wins"


def test_bidirectional_last_write_wins_and_merge(sites, tmp_path):
    lww = _config(sites, "bidirectional", "last_write_wins")
    hub = LibraryStore(sites["hub"])
    hub.set_preference("carol", "layers", {"silk": True, "fab": False})
    sync_site(lww, "europe", ["user_preferences"])
    sync_site(lww, "asia", ["user_preferences"])
    # asia edits later than the hub: asia's edit wins everywhere
    hub.set_preference("carol", "layers", {"silk": False, "fab": False})
    _edit_preference(sites["asia"], "carol", "layers", {"silk": True, "fab": True, "courtyard": True})
    sync_site(lww, "asia", ["user_preferences"])
    sync_site(lww, "europe", ["user_preferences"])
    want = {"layers": {"silk": True, "fab": True, "courtyard": True}}
    for url in (sites["hub"], sites["asia"], sites["europe"]):
        assert LibraryStore(url).preferences("carol") == want
    # a setting only the site has travels to the hub (and on to the other site)
    _edit_preference(sites["europe"], "dave", "units", {"unit": "mil"})
    sync_site(lww, "europe", ["user_preferences"])
    sync_site(lww, "asia", ["user_preferences"])
    assert LibraryStore(sites["asia"]).preferences("dave") == {"units": {"unit": "mil"}}

    merge = _config(sites, "bidirectional", "merge")
    hub.set_preference("erin", "view", {"grid": 1})
    sync_site(merge, "europe", ["user_preferences"])
    hub.set_preference("erin", "view", {"grid": 1, "zoom": 2})  # the hub adds zoom
    _edit_preference(sites["europe"], "erin", "view", {"grid": 1, "theme": "dark"})  # the site adds theme
    sync_site(merge, "europe", ["user_preferences"])
    merged = {"view": {"grid": 1, "zoom": 2, "theme": "dark"}}
    assert LibraryStore(sites["hub"]).preferences("erin") == merged
    assert LibraryStore(sites["europe"]).preferences("erin") == merged


def test_killed_sync_rerun_no_duplicates_nothing_lost(sites, tmp_path, monkeypatch):
    cfg = _config(sites)
    prod = tmp_path / "deploy/production"
    publish_local(_release(tmp_path / "r1", [("R1", "10k")], "(footprint v1)\n"), prod, "v1")
    hub = LibraryStore(sites["hub"])
    _seed(hub, 22, "k")  # 23 audit rows: five batches of 5

    class Killed(BaseException):  # what a SIGKILL looks like from inside: nothing after it runs
        pass

    def kill_after(n):
        def hook(done):
            if done == n:
                raise Killed

        return hook

    with pytest.raises(Killed):
        sync_site(cfg, "europe", ["audit_logs"], after_batch=kill_after(2))
    assert _count(sites["europe"], AuditEntry) == 10

    # the worst moment: the site committed a batch of new rows, the watermark did not move
    real_apply = sync_rows_module._apply

    def dies_before_watermark(*args):
        written, conflicts = real_apply(*args)
        if written:
            raise Killed
        return written, conflicts

    with monkeypatch.context() as m, pytest.raises(Killed):
        m.setattr(sync_rows_module, "_apply", dies_before_watermark)
        sync_site(cfg, "europe", ["audit_logs"])
    assert _count(sites["europe"], AuditEntry) == 15  # the batch landed, its watermark did not

    sync_site(cfg, "europe", ["audit_logs"])
    with Session(library_engine(sites["europe"])) as s:
        uids = s.scalars(select(AuditEntry.uid)).all()
    with Session(library_engine(sites["hub"])) as s:
        hub_uids = s.scalars(select(AuditEntry.uid).where(AuditEntry.action == "test_action")).all()
    assert len(uids) == len(set(uids)) == 23  # no duplicates
    assert set(hub_uids) <= set(uids)  # nothing lost

    # a library sync killed after two files: the site keeps what it had (nothing), then completes
    from include.sync import libraries

    with monkeypatch.context() as m, pytest.raises(Killed):
        m.setattr(libraries, "_put_checked", _dies_on_third(libraries._put_checked, Killed))
        sync_site(cfg, "europe", ["component_libraries"])
    assert not (tmp_path / "sites/europe/CURRENT").exists()  # never switched to a half-copied version
    out = sync_site(cfg, "europe", ["component_libraries"])["component_libraries"]
    assert out["switched"] and out["reused"] == 2 and out["sent"] == 1
    assert _tree(tmp_path / "sites/europe/current") == _tree(prod / "current")


def _dies_on_third(real, exc):
    calls = {"n": 0}

    def put(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise exc
        return real(*args)

    return put


def test_preferences_table_is_synced_by_key_not_local_id(sites):
    """Two sites writing the same (user, key) never make two rows."""
    cfg = _config(sites, "bidirectional", "last_write_wins")
    _edit_preference(sites["europe"], "fay", "units", {"unit": "mm"})
    _edit_preference(sites["hub"], "fay", "units", {"unit": "mil"})
    sync_site(cfg, "europe", ["user_preferences"])
    assert _count(sites["hub"], UserPreference) == _count(sites["europe"], UserPreference) == 1


def test_a_site_whose_store_is_s3(sites, tmp_path, monkeypatch):
    """asia's store on an S3 endpoint (moto's server): same files, pointer current.json, incremental."""
    import socket
    import urllib.parse

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        extra = urllib.parse.urlencode({"endpoint_url": endpoint, "region_name": "us-east-1"})
        monkeypatch.setenv("AIRFLOW_CONN_ASIA_S3", f"aws://key:secret@/?{extra}")
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="key",
            aws_secret_access_key="secret",
        )
        client.create_bucket(Bucket="kicad-asia")
        text = CONFIG.format(root=tmp_path, strategy="master_slave", resolution="master_wins", threshold=360)
        text = text.replace(
            f'store: {{kind: local, path: "{tmp_path}/sites/asia"}}',
            "store: {kind: s3, bucket: kicad-asia, prefix: lib, aws_conn_id: asia_s3}",
        )
        cfg = parse_config(text, Path("sites.yaml"))
        prod = tmp_path / "deploy/production"
        publish_local(_release(tmp_path / "r1", [("R1", "10k")], "(footprint v1)\n"), prod, "v1")
        assert sync_site(cfg, "asia", ["component_libraries"])["component_libraries"]["sent"] == 3
        publish_local(_release(tmp_path / "r2", [("R1", "10k")], "(footprint v2)\n"), prod, "v2")
        out = sync_site(cfg, "asia", ["component_libraries"])["component_libraries"]
        assert (out["sent"], out["reused"], out["switched"]) == (1, 2, True)
        pointer = json.loads(client.get_object(Bucket="kicad-asia", Key="lib/current.json")["Body"].read())
        assert pointer["version"] == "v2"
        for rel, sha in _tree(prod / "current").items():
            body = client.get_object(Bucket="kicad-asia", Key=f"lib/versions/v2/{rel}")["Body"].read()
            assert hashlib.sha256(body).hexdigest() == sha, rel
    finally:
        server.stop()
