"""`altium2kicad-admin diagnose / sync / sync-status / preferences` on the embedded default and on
broken sites: each problem is named with what to do."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from include.config import DEFAULT_CONFIG, parse_config
from include.library_db.database import engine as library_engine
from include.operations.admin import main as admin
from include.sync.diagnose import certificate_days_left, diagnose


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The shipped configuration (three embedded sites) in a fresh ALTIUM2KICAD_HOME."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    monkeypatch.delenv("ALTIUM2KICAD_DB_URL", raising=False)
    monkeypatch.delenv("ALTIUM2KICAD_CONFIG", raising=False)
    yield tmp_path
    library_engine.cache_clear()


def test_embedded_sites_sync_and_diagnose_clean(home, capsys):
    assert admin(["preferences", "set", "alice", "grid", '{"mm": 1.27}']) == 0
    assert admin(["sync"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["site"] for r in lines] == ["europe", "asia", "americas"]
    assert all(r["user_preferences"]["push"]["written"] == 1 for r in lines)
    assert admin(["sync-status"]) == 0
    status = capsys.readouterr().out
    assert "europe" in status and "user_preferences" in status
    assert admin(["diagnose"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out and "[FAIL]" not in out
    from include.library_db.store import LibraryStore

    site_db = f"sqlite:///{home}/var/altium2kicad/sites/asia/library.db"
    assert LibraryStore(site_db).preferences("alice") == {"grid": {"mm": 1.27}}
    assert admin(["preferences", "set", "alice", "grid", "[1, 2]"]) == 2  # not an object


def _config_with(tmp_path: Path):
    text = DEFAULT_CONFIG.read_text().replace(
        'database: {type: replica, url: "sqlite:///var/altium2kicad/sites/europe/library.db"}',
        "database: {type: replica, conn_id: site_europe_db}",
    )
    return parse_config(text, Path("c.yaml"))


def test_diagnose_names_a_dead_site_and_what_to_do(home, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SITE_EUROPE_DB", "postgresql://nobody:wrong@127.0.0.1:1/none")
    findings = diagnose(_config_with(home))
    europe = [f for f in findings if f.site == "europe" and f.check == "database"]
    assert europe[0].status == "fail" and "127.0.0.1" in europe[0].detail
    assert "wrong" not in europe[0].detail  # the password never shows
    assert "reachable" in europe[0].fix
    assert not [f for f in findings if f.site == "europe" and f.check.startswith("lag")]
    assert all(f.status != "fail" for f in findings if f.site != "europe")


def test_diagnose_clock_skew_and_lag_over_threshold(home, monkeypatch, pg_url):
    monkeypatch.setenv("AIRFLOW_CONN_SITE_EUROPE_DB", pg_url.replace("postgresql+psycopg2", "postgresql"))
    cfg = _config_with(home)
    from include.library_db.store import LibraryStore

    LibraryStore(cfg.library_db_url()).audit("r", "alice", "edit", {})
    skewed = diagnose(cfg, now=datetime.now(UTC) + timedelta(minutes=3))
    clock = [f for f in skewed if f.site == "europe" and f.check == "clock skew"][0]
    assert clock.status == "warn" and "NTP" in clock.fix
    strict = cfg.model_copy(
        update={"synchronization": cfg.synchronization.model_copy(update={"lag_threshold_minutes": 1e-6})}
    )
    lag = [f for f in diagnose(strict) if f.site == "europe" and f.check == "lag audit_logs"][0]
    assert lag.status == "fail" and "altium2kicad-admin sync --site europe --item audit_logs" in lag.fix


def test_certificate_expiry_read_from_a_real_tls_server(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
         "-days", "10", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        assert certificate_days_left("localhost", port, cafile=str(cert)) in (9, 10)
        assert certificate_days_left("localhost", port) is None  # not trusted: no verified session
    finally:
        server.shutdown()


def test_site_database_sources_named_and_embedded_refused_when_distributed(home, monkeypatch):
    """A site's database comes from its connection (an undefined one is named with the sources tried);
    in the distributed mode its embedded SQLite default is refused rather than used."""
    from include.config import ConfigError
    from include.sync.run import endpoints

    monkeypatch.delenv("AIRFLOW_CONN_SITE_EUROPE_DB", raising=False)
    with pytest.raises(ConfigError, match=r"sites\.europe\.database: .*Airflow connection 'site_europe_db'"):
        endpoints(_config_with(home), "europe")
    distributed = parse_config(
        DEFAULT_CONFIG.read_text().replace("mode: embedded", "mode: distributed", 1), Path("c.yaml")
    )
    assert distributed.deployment.mode == "distributed"
    with pytest.raises(ConfigError, match=r"sites\.europe\.database: .*distributed never falls back"):
        endpoints(distributed, "europe")
