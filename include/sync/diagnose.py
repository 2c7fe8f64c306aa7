"""`altium2kicad-admin diagnose`: the guide's troubleshooting section as checks that say what to do.

For every site: its library database answers (and how fast), its clock agrees with ours, its store
is reachable and holds the master's version, its lag is under the threshold, and the TLS
certificates of its endpoints are not about to expire. Each finding is one line: status, what, and
for a problem the next step.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from include.config import ConfigError, PipelineConfig
from include.sync import libraries
from include.sync.run import endpoints, measure

CLOCK_SKEW_WARN_SECONDS = 5.0  # watermarks are timestamps: sites must agree on the time
CERT_WARN_DAYS = 30


@dataclass
class Finding:
    site: str
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"[{self.status.upper():4}] {self.site:10} {self.check:24} {self.detail}"
        return text + (f"\n       -> {self.fix}" if self.fix else "")


def diagnose(cfg: PipelineConfig, now: datetime | None = None) -> list[Finding]:
    sync = cfg.synchronization
    if sync is None:
        return [
            Finding(
                "-", "configuration", "fail", "no synchronization section", "add sites and synchronization"
            )
        ]
    findings: list[Finding] = []
    try:
        master = endpoints(cfg, sync.master_site)
    except ConfigError as exc:
        return [
            Finding(sync.master_site, "configuration", "fail", str(exc), "fix the master site's settings")
        ]
    findings += _database(sync.master_site, master.library_url, now)
    pointer = None
    if master.store is not None:
        pointer, f = _store(sync.master_site, master.store, None)
        findings += f
    for name in sync.slave_sites:
        try:
            here = endpoints(cfg, name)
        except ConfigError as exc:
            findings.append(
                Finding(name, "configuration", "fail", str(exc), "define the connection it names")
            )
            continue
        db = _database(name, here.library_url, now)
        findings += db
        if here.store is not None:
            findings += _store(name, here.store, pointer)[1]
            findings += _certificates(name, here.store)
        if all(f.status != "fail" for f in db):
            findings += _lag(cfg, name, sync.sync_items, sync.lag_threshold_minutes)
    return findings


def _database(site: str, url: str, now: datetime | None) -> list[Finding]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return [Finding(site, "database", "warn", f"{shown}: not created yet", "the first sync creates it")]
    from include.sites.engines import configured_pool_options

    engine = create_engine(url, **{"pool_pre_ping": True, **configured_pool_options(url)})
    try:
        start = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            elapsed = (time.perf_counter() - start) * 1000
            server_now = None
            if engine.dialect.name == "postgresql":
                server_now = conn.execute(text("SELECT now()")).scalar()
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        fix = (
            "check the site's user and password in its Airflow connection (and pg_hba.conf)"
            if "authentication" in reason.lower() or "password" in reason.lower()
            else "check the server is up and reachable from here (host, port, firewall, VPN)"
        )
        return [Finding(site, "database", "fail", f"{shown}: {reason}", fix)]
    finally:
        engine.dispose()
    out = [Finding(site, "database", "ok", f"{shown} answers in {elapsed:.0f} ms")]
    if server_now is not None:
        skew = abs(((now or datetime.now(UTC)) - server_now).total_seconds())
        status = "ok" if skew <= CLOCK_SKEW_WARN_SECONDS else "warn"
        fix = "" if status == "ok" else "run NTP (chrony/systemd-timesyncd) on the database host and here"
        out.append(Finding(site, "clock skew", status, f"{skew:.1f} s from this machine", fix))
    return out


def _store(site: str, store, master_pointer: dict | None) -> tuple[dict | None, list[Finding]]:
    try:
        pointer = libraries.live_pointer(store)
    except Exception as exc:
        return None, [
            Finding(site, "store", "fail", f"{store.name}: {exc}", "check the store's path or S3 credentials")
        ]
    if pointer is None:
        status = "warn" if master_pointer else "ok"
        fix = "run `altium2kicad-admin sync --site " + site + "`" if master_pointer else ""
        return None, [Finding(site, "store", status, f"{store.name}: no library version live", fix)]
    detail = f"{store.name}: version {pointer['version']} live"
    if master_pointer and pointer["version"] != master_pointer["version"]:
        return pointer, [
            Finding(
                site,
                "store",
                "warn",
                detail + f", master has {master_pointer['version']}",
                "the next sync brings it",
            )
        ]
    return pointer, [Finding(site, "store", "ok", detail)]


def _lag(cfg: PipelineConfig, site: str, items: Sequence[str], threshold_minutes: float) -> list[Finding]:
    out = []
    for item in items:
        try:
            m = measure(cfg, site, item)
        except Exception as exc:
            out.append(Finding(site, f"lag {item}", "fail", str(exc), "check the site's store and database"))
            continue
        minutes = m["lag_seconds"] / 60
        if minutes > threshold_minutes:
            fix = f"sync it now: altium2kicad-admin sync --site {site} --item {item}; then check its DAG's failures"
            out.append(
                Finding(
                    site, f"lag {item}", "fail", f"{minutes:.0f} min behind ({m['pending']} pending)", fix
                )
            )
        else:
            out.append(
                Finding(site, f"lag {item}", "ok", f"{minutes:.0f} min behind ({m['pending']} pending)")
            )
    return out


def _certificates(site: str, store) -> list[Finding]:
    endpoint = getattr(getattr(store, "client", None), "meta", None)
    url = getattr(endpoint, "endpoint_url", None)
    if not url or not url.startswith("https://"):
        return []
    parsed = urlparse(url)
    days = certificate_days_left(parsed.hostname or "", parsed.port or 443)
    if days is None:
        return [
            Finding(
                site,
                "certificate",
                "fail",
                f"{url}: TLS handshake failed",
                "check the endpoint's certificate chain",
            )
        ]
    status = "ok" if days > CERT_WARN_DAYS else ("warn" if days > 0 else "fail")
    fix = "" if status == "ok" else "renew the endpoint's certificate"
    return [Finding(site, "certificate", status, f"{url}: expires in {days} days", fix)]


def certificate_days_left(host: str, port: int, timeout: float = 5, cafile: str | None = None) -> int | None:
    """Days until the server's certificate expires (None when no verified TLS session can be made)."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert()
    except (OSError, ssl.SSLError):
        return None
    not_after = cert.get("notAfter") if cert else None
    if not isinstance(not_after, str):  # a verified session always has one; be explicit, not KeyError
        return None
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)
    return (expires - datetime.now(UTC)).days
