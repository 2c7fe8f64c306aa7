"""One sync of some items to one site, as the configuration describes the sites, with lag recorded.

The master is this deployment: its library database is the hub (watermarks, lag and conflicts are
recorded there) and its `synchronization.environment` is where component libraries come from.
Strategy `master_slave` pushes to the site, the master winning every conflict; `bidirectional`
first pulls the site's own changes (last_write_wins, or merge where the item supports it), then
pushes, so both ends hold the same rows afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from include.config import ConfigError, PipelineConfig
from include.library_db.database import engine as library_engine
from include.library_db.models import AuditEntry, SyncLag
from include.operations.stores import FailoverStore, LocalStore, S3Store, open_reader, open_store
from include.sync import libraries
from include.sync.rows import ROW_ITEMS, RowItem, pending, state, sync_rows, utc

log = logging.getLogger(__name__)


@dataclass
class SiteEndpoints:
    """Where one site's state lives, resolved (URLs carry credentials: never log or return them)."""

    name: str
    library_url: str
    store: LocalStore | S3Store | FailoverStore | None
    parts_url: str | None


def _url(cfg: PipelineConfig, where: str, conn_id: str | None, url: str | None) -> str | None:
    """A site database's URL: its Airflow connection, else the configured URL (a relative SQLite path
    under the project), through `resolve_setting` so the log says which source won and the
    distributed mode refuses an embedded SQLite file."""
    from include.connections import (
        ConnectionUnusable,
        SettingNotFound,
        Source,
        resolve_setting,
        sqlalchemy_url,
    )

    if not conn_id and not url:
        return None
    sources: list[Source[str]] = []
    if conn_id:
        sources.append(Source(f"Airflow connection '{conn_id}'", lambda: sqlalchemy_url(conn_id)))
    if url:
        local = url.startswith("sqlite:///") and not url.startswith("sqlite:////")
        resolved = "sqlite:///" + str(cfg.path(url.removeprefix("sqlite:///"))) if local else url
        sources.append(
            Source(f"configuration {where}.url", lambda: resolved, embedded=url.startswith("sqlite"))
        )
    try:
        found, _source = resolve_setting(where, sources, cfg.deployment.mode)
    except (ConnectionUnusable, SettingNotFound) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return found


def endpoints(cfg: PipelineConfig, name: str) -> SiteEndpoints:
    sync = _settings(cfg)
    if name not in cfg.sites:
        raise ConfigError(f"sites: no site '{name}' (known: {', '.join(sorted(cfg.sites)) or 'none'})")
    site = cfg.sites[name]
    parts = site.parts_database
    parts_url = _url(cfg, f"sites.{name}.parts_database", parts.conn_id, parts.url) if parts else None
    if name == sync.master_site:
        env = cfg.environment(sync.environment)
        reader = open_reader(env.target, env.secondary_target, cfg.path)  # secondary while primary is down
        return SiteEndpoints(name, cfg.library_db_url(), reader, parts_url)
    db = _url(cfg, f"sites.{name}.database", site.database.conn_id, site.database.url)
    if not db:
        raise ConfigError(f"sites.{name}.database: give conn_id (or a SQLite url)")
    store = open_store(site.store, cfg.path) if site.store else None
    return SiteEndpoints(name, db, store, parts_url)


def _settings(cfg: PipelineConfig):
    if cfg.synchronization is None:
        raise ConfigError("synchronization: not configured (no sites to sync)")
    return cfg.synchronization


def sync_site(cfg: PipelineConfig, site: str, items: list[str], after_batch=None) -> dict:
    """Syncs `items` to (and, bidirectional, from) one slave site; returns what moved, per item."""
    sync = _settings(cfg)
    if site == sync.master_site:
        raise ConfigError(f"synchronization: {site} is the master; sync runs to the slave sites")
    master, here = endpoints(cfg, sync.master_site), endpoints(cfg, site)
    hub = library_engine(master.library_url)
    remote = library_engine(here.library_url)
    out: dict[str, dict] = {}
    for item in items:
        before = measure(cfg, site, item, master, here, hub, remote)
        if item == "component_libraries":
            out[item] = _sync_libraries(cfg, master, here, hub, after_batch)
        else:
            out[item] = _sync_row_item(cfg, ROW_ITEMS[item], hub, remote, site, after_batch)
        after = measure(cfg, site, item, master, here, hub, remote)
        out[item]["lag_before_seconds"] = before["lag_seconds"]
        out[item]["lag_after_seconds"] = after["lag_seconds"]
        if before["lag_seconds"] > sync.lag_threshold_minutes * 60:
            lag_exceeded(cfg, hub, site, item, before["lag_seconds"])
    return out


def _sync_libraries(
    cfg: PipelineConfig, master: SiteEndpoints, here: SiteEndpoints, hub: Engine, hook
) -> dict:
    if here.store is None:
        raise ConfigError(f"sites.{here.name}.store: component_libraries need a store at the site")
    assert master.store is not None
    assert not isinstance(here.store, FailoverStore)  # a slave's store is one store, written to
    result = libraries.sync_library(
        master.store, here.store, here.name, here.parts_url, cfg.backup.keep_versions, hook
    )
    from sqlalchemy.orm import Session

    with Session(hub) as h:
        st = state(h, here.name, "component_libraries", "push")
        if result.switched or result.version:
            st.watermark = result.version or ""
            st.synced_at = datetime.now(UTC)
            st.transferred += result.sent
        h.commit()
    return result.to_json()


def _sync_row_item(cfg: PipelineConfig, spec: RowItem, hub: Engine, remote: Engine, site: str, hook) -> dict:
    sync = _settings(cfg)
    master = sync.master_site
    size = sync.batch_size
    out = {}
    if sync.strategy == "bidirectional":
        pulled = sync_rows(
            spec, remote, hub, hub, site, "pull", sync.conflict_resolution, size, site, False, hook
        )
        out["pull"] = pulled.to_json()
        _audit_conflicts(hub, pulled)
    pushed = sync_rows(
        spec, hub, remote, hub, site, "push", sync.conflict_resolution, size, master, True, hook
    )
    out["push"] = pushed.to_json()
    _audit_conflicts(hub, pushed)
    return out


def _audit_conflicts(hub: Engine, result) -> None:
    from sqlalchemy.orm import Session

    if not result.conflicts:
        return
    with Session(hub) as h, h.begin():
        for c in result.conflicts:
            h.add(
                AuditEntry(
                    actor="site-sync",
                    action="sync_conflict",
                    run_id="",
                    detail={"site": result.site, "item": result.item, "direction": result.direction, **c},
                )
            )


def measure(
    cfg: PipelineConfig,
    site: str,
    item: str,
    master: SiteEndpoints | None = None,
    here: SiteEndpoints | None = None,
    hub: Engine | None = None,
    remote: Engine | None = None,
) -> dict:
    """How far `site` is behind for `item`: pending changes and the lag, stored.

    The lag is the age of the newest change the master has and the site has not (the issue's
    definition; for a library, the time since the master switched to the version the site lacks)."""
    sync = _settings(cfg)
    master = master or endpoints(cfg, sync.master_site)
    here = here or endpoints(cfg, site)
    hub = hub or library_engine(master.library_url)
    now = datetime.now(UTC)
    from sqlalchemy.orm import Session

    if item == "component_libraries":
        assert master.store is not None
        pointer = libraries.live_pointer(master.store)
        at_site = libraries.live_pointer(here.store) if here.store else None
        behind = bool(pointer and (not at_site or at_site["version"] != pointer["version"]))
        count = 1 if behind else 0
        since = utc(datetime.fromisoformat(pointer["switched_at"])) if behind and pointer else None
    else:
        spec = ROW_ITEMS[item]
        with Session(hub) as h:
            mark = state(h, site, item, "push").watermark
            h.commit()
        count, since = pending(hub, spec, mark)
    lag = max(0.0, (now - since).total_seconds()) if since else 0.0
    with Session(hub) as h, h.begin():
        h.add(SyncLag(site=site, item=item, measured_at=now, lag_seconds=lag, pending=count))
    return {"site": site, "item": item, "lag_seconds": lag, "pending": count, "measured_at": now.isoformat()}


def lag_exceeded(cfg: PipelineConfig, hub: Engine, site: str, item: str, lag: float) -> None:
    """Recorded in the audit log and sent to the configured channels; never fails the sync."""
    from sqlalchemy.orm import Session

    from include.sync.alerts import send_lag_alert

    threshold = _settings(cfg).lag_threshold_minutes
    message = f"site {site}: {item} is {lag / 60:.0f} min behind (threshold {threshold:g} min)"
    log.warning(message)
    with Session(hub) as h, h.begin():
        h.add(
            AuditEntry(
                actor="site-sync",
                action="sync_lag_exceeded",
                run_id="",
                detail={"site": site, "item": item, "lag_seconds": lag, "threshold_minutes": threshold},
            )
        )
    send_lag_alert(cfg, site, item, message)
