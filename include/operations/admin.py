"""`altium2kicad-admin`: list, verify and restore backup sets; archive and fetch PostgreSQL WAL;
(through include.sync.cli) the sites; show and edit deployed parts and mapping rules
(include/sites/admin.py).

Stores and key come from the command line or the environment (never stored with the backup):
--store may be given twice (primary, secondary): a folder or s3://bucket/prefix (endpoint from
--s3-endpoint / AWS_ENDPOINT_URL). The key is read from the env var named by --key-env.
`restore-database --restore-point T|latest --data-dir D --target-server postgresql://u@host:PORT/db`
restores the cluster as of T into a new data directory and starts it on PORT; `archive-wal %p %f`
and `restore-wal %f %p` are what archive_command / restore_command call (docs/operations.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from include.operations.backup import Vault, verify_objects
from include.operations.databases import RestoreRefused
from include.operations.pg_cluster import ClusterError
from include.operations.restore import restore_database, restore_site
from include.operations.sealing import BackupIntegrityError, BackupKeyError, load_key, new_key
from include.operations.stores import LocalStore, S3Store, StoreError
from include.operations.wal import WalArchiveError, archive_file, fetch_file


def _store(spec: str, endpoint: str | None):
    if spec.startswith("s3://"):
        import boto3

        bucket, _, prefix = spec[5:].partition("/")
        return S3Store(boto3.client("s3", endpoint_url=endpoint), bucket, prefix)
    return LocalStore(Path(spec))


def _progress():
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(unit="B", unit_scale=True, file=sys.stderr)

    def advance(label: str, size: int) -> None:
        bar.set_description(label[-40:])
        bar.update(size)

    return advance


def _vault(args) -> Vault:
    stores = [_store(s, args.s3_endpoint) for s in args.store]
    return Vault(stores, load_key(args.key_env, args.key_conn_id))


def _set_id(vault: Vault, value: str) -> str:
    ids = vault.set_ids()
    if value == "latest":
        if not ids:
            raise StoreError("no backup sets in the stores")
        return ids[-1]
    value = value.rstrip("/").removesuffix("/manifest").split("/")[-1]
    if value not in ids:
        raise StoreError(f"no backup set {value} (have: {', '.join(ids) or 'none'})")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from include.sync.cli import COMMANDS as SITE_COMMANDS

    if argv and argv[0] in SITE_COMMANDS:  # the sites' commands read the pipeline configuration
        from include.sync.cli import main as sites_main

        return sites_main(argv)
    parser = argparse.ArgumentParser(
        prog="altium2kicad-admin", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    parser.add_argument(
        "--store", action="append", default=[], help="backup store (twice: primary, secondary)"
    )
    parser.add_argument("--s3-endpoint", default=None)
    parser.add_argument("--key-env", default="ALTIUM2KICAD_BACKUP_KEY")
    parser.add_argument("--key-conn-id", default="altium2kicad_backup_key")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate-key")
    sub.add_parser("list-backups")
    v = sub.add_parser("verify-backup")
    v.add_argument("--backup-file", default="latest")
    r = sub.add_parser("restore-database")
    r.add_argument("--backup-file", default="latest", help="backup set id (or 'latest')")
    r.add_argument("--database", default="library_db")
    r.add_argument("--target-server", required=True, help="SQLAlchemy URL of the target database")
    r.add_argument(
        "--restore-point",
        default=None,
        help="ISO time or 'latest': replay archived WAL onto the newest base backup before it",
    )
    r.add_argument("--data-dir", default=None, help="with --restore-point: the new cluster's data directory")
    r.add_argument("--verify", action="store_true")
    r.add_argument("--force", action="store_true")
    a = sub.add_parser("archive-wal", help="archive_command: seal one WAL file into the stores")
    a.add_argument("path", help="%%p")
    a.add_argument("name", help="%%f")
    w = sub.add_parser("restore-wal", help="restore_command: fetch and open one WAL file")
    w.add_argument("name", help="%%f")
    w.add_argument("path", help="%%p")
    s = sub.add_parser("restore-site")
    s.add_argument("--backup-set", default="latest")
    s.add_argument("--target-site", required=True, help="JSON: {databases: {name: url}, trees: {name: path}}")
    s.add_argument("--parallel-restore", action="store_true")
    s.add_argument("--max-workers", type=int, default=4)
    s.add_argument("--verify-after-restore", action="store_true")
    s.add_argument("--force", action="store_true")
    _add_restore_config(sub)
    from include.sites.admin import add_parser as add_parts_parser

    add_parts_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "parts":
        from include.sites.admin import run as run_parts

        return run_parts(args)
    if args.command == "rules":
        from include.sites.admin import run_rules

        return run_rules(args)
    if not args.store and args.command != "generate-key":
        parser.error("give at least one --store")
    try:
        return _run(args)
    except (
        BackupIntegrityError,
        BackupKeyError,
        RestoreRefused,
        StoreError,
        KeyError,
        ValueError,
        RuntimeError,
        ClusterError,
        WalArchiveError,
    ) as exc:
        print(f"altium2kicad-admin {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "generate-key":
        print(new_key())
        return 0
    vault = _vault(args)
    if args.command == "list-backups":
        for set_id in vault.set_ids():
            m = vault.manifest(set_id)
            print(
                f"{set_id}\t{m['kind']}\t{m['stats']['plain_bytes']} B\tverified={bool(vault.verified(set_id))}"
            )
        return 0
    if args.command == "verify-backup":
        set_id = _set_id(vault, args.backup_file)
        problems = verify_objects(vault, vault.manifest(set_id), _progress())
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{set_id}: {'OK' if not problems else f'{len(problems)} damaged objects'}")
        return 0 if not problems else 2
    if args.command == "archive-wal":
        archive_file(vault, Path(args.path), args.name)
        return 0
    if args.command == "restore-wal":
        return 0 if fetch_file(vault, args.name, Path(args.path)) else 1  # 1: end of the archive
    if args.command == "restore-database" and args.restore_point:
        return _restore_point(vault, args)
    if args.command == "restore-database":
        manifest = vault.manifest(_set_id(vault, args.backup_file))
        result = restore_database(
            vault, manifest, args.database, args.target_server, args.force, args.verify, _progress()
        )
        return _report([result])
    if args.command == "restore-site":
        target = json.loads(args.target_site)
        manifest = vault.manifest(_set_id(vault, args.backup_set))
        results = restore_site(
            vault,
            manifest,
            target.get("databases", {}),
            {k: Path(p) for k, p in target.get("trees", {}).items()},
            args.max_workers if args.parallel_restore else 1,
            args.force,
            args.verify_after_restore,
            _progress(),
        )
        return _report(results)
    if args.command == "restore-config":
        return _restore_config(args, vault)
    return 1


def _add_restore_config(sub) -> None:
    c = sub.add_parser(
        "restore-config", help="the configuration folder of a backup set (authenticated before writing)"
    )
    c.add_argument("--backup-file", default="latest", help="backup set id (or 'latest')")
    c.add_argument(
        "--target-server",
        default="local",
        help="folder to write the configuration into ('local': this deployment's configuration folder)",
    )
    c.add_argument(
        "--restart-services",
        action="store_true",
        help="then restart Airflow (maintenance.restart: pid files natively, docker compose when distributed)",
    )
    c.add_argument("--force", action="store_true", help="replace a non-empty folder")


def _restore_config(args, vault: Vault) -> int:
    """Writes the set's configuration into the target, then restarts the services when asked."""
    from include.config import CONFIG_ENV, config_path, load_config
    from include.operations.services import restart_services
    from include.operations.updates import restore_configuration

    target = config_path().parent if args.target_server == "local" else Path(args.target_server)
    set_id = _set_id(vault, args.backup_file)
    result = restore_configuration(vault, set_id, target, args.force)
    print(f"configuration of {set_id} -> {result.target}: OK")
    if args.restart_services:
        restored = target / config_path().name
        cfg = load_config(restored if restored.is_file() else None)
        for r in restart_services(cfg):
            print(f"restarted {r.service}: {r.old_pid or '-'} -> {r.new_pid or '-'} {r.note}".rstrip())
        if not restored.is_file():
            print(
                f"(services restarted with {config_path()}; {CONFIG_ENV} names the configuration they read)"
            )
    return 0


def _restore_point(vault: Vault, args) -> int:
    """restore-database --restore-point: a new cluster in --data-dir on --target-server's port."""
    from sqlalchemy.engine import make_url

    from include.operations.databases import fingerprints
    from include.operations.pitr import parse_point, restore_to_point

    if not args.data_dir:
        raise ValueError("--restore-point restores a whole cluster: give its new --data-dir")
    target = make_url(args.target_server)
    if target.get_backend_name() != "postgresql" or not target.port:
        raise ValueError(
            f"--target-server {args.target_server}: a point-in-time restore needs a PostgreSQL URL with a port"
        )
    when = parse_point(args.restore_point)
    set_id = None if args.backup_file == "latest" else _set_id(vault, args.backup_file)
    done = restore_to_point(
        vault,
        args.database,
        when,
        Path(args.data_dir),
        target.port,
        target.username or "postgres",
        set_id,
        args.force,
        _progress(),
    )
    print(
        f"database {args.database} -> {args.data_dir} (port {target.port}): base backup of {done.set_id}, "
        f"{done.wal_files} WAL files, newest change replayed {done.replayed_until}, {done.seconds:.1f} s"
    )
    problems = []
    if not done.target_reached and when:
        print(f"  the archive ends before {when.isoformat()}: every archived change was restored")
    if args.verify:
        if when and done.replayed_until and datetime.fromisoformat(done.replayed_until) > when:
            problems.append(f"replayed a change of {done.replayed_until}, after the restore point")
        tables = fingerprints(target.render_as_string(hide_password=False))
        print(f"  {len(tables)} tables readable, {sum(t.rows for t in tables.values())} rows")
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    return 3 if problems else 0


def _report(results) -> int:
    for r in results:
        print(f"{r.what} -> {r.target}: {'OK' if r.ok else 'DIFFERS'}")
        for p in r.problems:
            print(f"  {p}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 3


if __name__ == "__main__":
    sys.exit(main())
