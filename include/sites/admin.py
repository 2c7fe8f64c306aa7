"""`altium2kicad-admin parts ...`: show, edit, lock and unlock a deployed part from a shell.

The same rules as the REST API (include/sites/part_edits.py): an edit names the version it is
based on (`--version`, printed by `show`), a stale one exits 4 unless the configuration resolves
it, a part locked by someone else exits 5; every change is audited under the user's name.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys


def add_parser(sub) -> None:
    parts = sub.add_parser("parts", help="show or edit deployed parts (optimistic locking)")
    actions = parts.add_subparsers(dest="parts_command", required=True)
    rules = sub.add_parser("rules", help="show or edit the stored mapping rules (optimistic locking)")
    rule_actions = rules.add_subparsers(dest="rules_command", required=True)
    rule_actions.add_parser("show").add_argument("--version", type=int, default=None)
    rule_edit = rule_actions.add_parser("edit")
    rule_edit.add_argument("--set", action="append", default=[], metavar="SECTION.NAME=VALUE")
    rule_edit.add_argument("--unset", action="append", default=[], metavar="SECTION.NAME")
    rule_edit.add_argument("--version", type=int, default=None, help="rules version the edit is based on")
    rule_edit.add_argument("--actor", default=None)
    partition = actions.add_parser(
        "partition", help="move a deployed PostgreSQL parts database to database.scaling.sharding's layout"
    )
    partition.add_argument("--environment", required=True)
    partition.add_argument("--library", required=True, help="the .kicad_dbl nickname")
    partition.add_argument("--actor", default=None)
    for name in ("show", "edit", "lock", "unlock"):
        p = actions.add_parser(name)
        p.add_argument("--environment", required=True)
        p.add_argument("--library", required=True, help="the .kicad_dbl nickname")
        p.add_argument("--category", required=True, help="category (sub-library) name or id")
        p.add_argument("--key", required=True, help="the part's key (KiCad's symbol name)")
        p.add_argument("--actor", default=None, help="who edits (default: the login name)")
        if name == "edit":
            p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", required=True)
            p.add_argument("--version", type=int, default=None, help="row version the edit is based on")
        if name == "unlock":
            p.add_argument("--force", action="store_true", help="release another user's lock")


def _category_id(catalog, wanted: str) -> str:
    for entry in catalog.categories():
        if wanted in (entry["id"], entry["name"]):
            return entry["id"]
    names = ", ".join(c["name"] for c in catalog.categories())
    raise SystemExit(f"altium2kicad-admin parts: no category '{wanted}' (categories: {names})")


def run(args) -> int:
    from include.config import load_config

    from .http_library import NotServed, catalog
    from .part_edits import EditError, audit, edit_part, release_lock, take_lock
    from .parts_catalog import UnknownId, part_id

    config = load_config()
    actor = args.actor or getpass.getuser()
    try:
        if args.parts_command == "partition":
            return _partition(config, args, actor)
        cat = catalog(args.environment, args.library, writable=args.parts_command != "show")
        category = _category_id(cat, args.category)
        detail = {"library": args.library, "category": cat.category(category).name, "key": args.key}
        if args.parts_command == "show":
            document, version = cat.part(part_id(category, args.key))
            print(json.dumps({"version": version, **document}, indent=1, ensure_ascii=False))
            return 0
        try:
            if args.parts_command == "edit":
                changes: dict[str, str | None] = dict(_assignment(s) for s in args.set)
                outcome = edit_part(cat, category, args.key, changes, args.version, actor, config.concurrency)
                audit(
                    config,
                    args.environment,
                    actor,
                    "part_edited",
                    {
                        **detail,
                        "changes": changes,
                        "based_on": args.version,
                        "version": outcome.version,
                        "resolution": outcome.resolution,
                    },
                )
                print(f"{args.key}: version {outcome.version} ({outcome.resolution})")
            elif args.parts_command == "lock":
                expires = take_lock(cat, category, args.key, actor, config.concurrency)
                audit(
                    config,
                    args.environment,
                    actor,
                    "part_locked",
                    {**detail, "expires_at": expires.isoformat()},
                )
                print(f"{args.key}: locked by {actor} until {expires.isoformat()}")
            else:
                released = release_lock(cat, category, args.key, actor, args.force)
                if released:
                    audit(config, args.environment, actor, "part_unlocked", {**detail, "forced": args.force})
                print(f"{args.key}: {'unlocked' if released else 'was not locked'}")
        except EditError as exc:
            audit(
                config,
                args.environment,
                actor,
                f"part_{args.parts_command}_refused",
                {**detail, "reason": str(exc)},
            )
            print(f"altium2kicad-admin parts {args.parts_command}: {exc}", file=sys.stderr)
            return exc.exit_code
    except (NotServed, UnknownId) as exc:
        print(f"altium2kicad-admin parts {args.parts_command}: {exc}", file=sys.stderr)
        return 3
    return 0


def run_rules(args) -> int:
    from include.config import load_config
    from include.library_db.store import LibraryStore

    from .part_edits import EditError, audit_library
    from .rules_edits import edit_rules, latest_version

    config = load_config()
    url = config.library_db_url()
    if args.rules_command == "show":
        version = args.version or latest_version(url)
        stored = LibraryStore(url).mapping_rules(version) if version else None
        if stored is None:
            print(f"altium2kicad-admin rules show: no mapping rules version {version}", file=sys.stderr)
            return 3
        print(f"# version {stored.version}\n{stored.content}", end="")
        return 0
    actor = args.actor or getpass.getuser()
    changes: dict[str, str | None] = dict(_assignment(s) for s in args.set)
    changes.update(dict.fromkeys(args.unset))
    if not changes:
        print("altium2kicad-admin rules edit: give --set or --unset", file=sys.stderr)
        return 2
    try:
        version, resolution = edit_rules(url, changes, args.version, actor, config.concurrency)
    except EditError as exc:
        audit_library(config, "mapping_rules", actor, "mapping_rules_edit_refused", {"reason": str(exc)})
        print(f"altium2kicad-admin rules edit: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"mapping rules: version {version} ({resolution})")
    return 0


def _partition(config, args, actor: str) -> int:
    from .http_library import _deployed_dbl, forget_catalogs
    from .kicad_dbl import read_kicad_dbl
    from .part_edits import audit
    from .partitioning import partition_deployed

    dbl = read_kicad_dbl(_deployed_dbl(args.environment, args.library).resolve())
    try:
        done = partition_deployed(dbl, config.database.scaling.sharding, config.database.scaling)
    except ValueError as exc:
        print(f"altium2kicad-admin parts partition: {exc}", file=sys.stderr)
        return 2
    forget_catalogs()
    audit(config, args.environment, actor, "parts_partitioned", {"library": args.library, **done})
    print(
        f"{args.library}: {done['parts']} parts of {done['categories']} categories in {done['parent']}, "
        f"{done['method']} partitions ({done['partitions']})"
    )
    return 0


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--set '{text}': write FIELD=VALUE")
    return name, value
