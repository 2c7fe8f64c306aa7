"""`altium2kicad-admin sync | sync-status | diagnose | preferences`: the sites, from a terminal.

Sites, stores and credentials come from the pipeline configuration and its Airflow connections,
as for the sync DAGs (ALTIUM2KICAD_CONFIG names another file).
"""

from __future__ import annotations

import argparse
import json
import sys

COMMANDS = ("sync", "sync-status", "diagnose", "preferences")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="altium2kicad-admin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="sync now (every slave site and item unless narrowed)")
    s.add_argument("--site", action="append", default=[])
    s.add_argument("--item", action="append", default=[])
    sub.add_parser("sync-status", help="watermark, last sync and latest lag per site and item")
    sub.add_parser("diagnose", help="connectivity, clock skew, store, lag and certificates of every site")
    p = sub.add_parser("preferences", help="a user's settings (synced to every site)")
    p.add_argument("action", choices=["get", "set"])
    p.add_argument("user")
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?", help="JSON object")
    args = parser.parse_args(argv)
    from include.config import ConfigError, load_config
    from include.sync.libraries import SyncError

    try:
        cfg = load_config()
        return _run(args, cfg)
    except (ConfigError, SyncError) as exc:
        print(f"altium2kicad-admin {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args, cfg) -> int:
    if args.command == "diagnose":
        from include.sync.diagnose import diagnose

        findings = diagnose(cfg)
        for f in findings:
            print(f.line())
        failed = sum(f.status == "fail" for f in findings)
        print(
            f"{len(findings)} checks, {failed} failed, {sum(f.status == 'warn' for f in findings)} warnings"
        )
        return 1 if failed else 0
    if args.command == "preferences":
        return _preferences(args, cfg)
    from include.config import ConfigError

    sync = cfg.synchronization
    if sync is None:
        raise ConfigError("synchronization: not configured (no sites to sync)")
    if args.command == "sync-status":
        return _status(cfg)
    from include.sync.run import sync_site

    sites = args.site or sync.slave_sites
    items = args.item or sync.sync_items
    unknown = sorted(set(items) - set(sync.sync_items))
    if unknown:
        raise ConfigError(f"--item {', '.join(unknown)}: not in synchronization.sync_items")
    for site in sites:
        result = sync_site(cfg, site, items)
        print(json.dumps({"site": site, **result}, default=str))
    return 0


def _status(cfg) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from include.library_db.database import engine
    from include.library_db.models import SyncLag, SyncState

    with Session(engine(cfg.library_db_url())) as s:
        states = {(r.site, r.item, r.direction): r for r in s.scalars(select(SyncState))}
        latest: dict[tuple[str, str], SyncLag] = {}
        for lag in s.scalars(select(SyncLag).order_by(SyncLag.id)):
            latest[(lag.site, lag.item)] = lag
    print(f"{'site':10} {'item':20} {'dir':5} {'last sync':25} {'lag (min)':>9} {'pending':>7}  watermark")
    for (site, item, direction), st in sorted(states.items()):
        lag = latest.get((site, item))
        print(
            f"{site:10} {item:20} {direction:5} {str(st.synced_at or '-')[:25]:25} "
            f"{(lag.lag_seconds / 60 if lag else 0):9.1f} {(lag.pending if lag else 0):7}  {st.watermark}"
        )
    return 0


def _preferences(args, cfg) -> int:
    from include.library_db.store import LibraryStore

    store = LibraryStore(cfg.library_db_url())
    if args.action == "get":
        print(json.dumps(store.preferences(args.user), indent=1, sort_keys=True))
        return 0
    if not args.key or args.value is None:
        print(
            "altium2kicad-admin preferences set: give USER KEY VALUE (VALUE a JSON object)", file=sys.stderr
        )
        return 2
    try:
        value = json.loads(args.value)
    except ValueError as exc:
        print(f"altium2kicad-admin preferences set: VALUE is not JSON ({exc})", file=sys.stderr)
        return 2
    if not isinstance(value, dict):
        print("altium2kicad-admin preferences set: VALUE must be a JSON object", file=sys.stderr)
        return 2
    store.set_preference(args.user, args.key, value)
    return 0
