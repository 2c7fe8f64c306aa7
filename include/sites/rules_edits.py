"""Concurrent edits of the mapping rules: the same optimistic locking as parts, on rule versions.

The rules are versioned documents in the library database (`mapping_rules_version`, one row per
distinct text). An edit changes entries (`section.name`, e.g. `field_renames.Supplier 1`) of the
version it was based on. When that is not the newest version any more the configuration decides
as for parts (`concurrency.conflict_resolution`): refused (EditConflict), applied over the newest
(`last_write_wins`), or merged when none of its entries changed between the two versions. The new
version is inserted with the number the writer checked, so two writers racing for it cannot both
win: the second gets the primary key's refusal, reported as a conflict.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import Body, Depends, Header, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .http_library import current_config, editor
from .part_edits import EditConflict, EditError, VersionRequired, _version_of, audit_library

SECTIONS = ("library_names", "field_renames", "layer_map", "footprint_name_fixes")


def _entries(rules: dict) -> dict[str, object]:
    return {
        f"{section}.{name}": value
        for section in SECTIONS
        for name, value in (rules.get(section) or {}).items()
    }


def _apply(rules: dict, changes: dict[str, str | None]) -> dict:
    updated = {k: (dict(v) if isinstance(v, dict) else v) for k, v in rules.items()}
    for entry, value in changes.items():
        section, dot, name = entry.partition(".")
        if section not in SECTIONS or not dot or not name:
            raise EditError(
                f"'{entry}' is not a rule entry (<section>.<name>, sections: {', '.join(SECTIONS)})"
            )
        target = updated.setdefault(section, {}) or {}
        updated[section] = target
        if value is None:
            target.pop(name, None)
        elif section == "footprint_name_fixes":
            raise EditError("footprint_name_fixes: edit the rules file (its entries are mappings)")
        else:
            target[name] = value
    return updated


def latest_version(url: str) -> int | None:
    from include.library_db.database import session
    from include.library_db.models import MappingRulesVersion

    with session(url) as s:
        return s.scalar(select(func.max(MappingRulesVersion.version)))


def edit_rules(
    url: str, changes: dict[str, str | None], base_version: int | None, actor: str, policy
) -> tuple[int, str]:
    """Stores the edited rules as a new version; (version, resolution)."""
    from include.library_db.database import session
    from include.library_db.models import AuditEntry, MappingRulesVersion
    from include.mapping_rules import MappingRulesError, from_dict

    strategy = policy.conflict_resolution.strategy
    with session(url) as s:
        newest = s.scalar(select(func.max(MappingRulesVersion.version)))
        if newest is None:
            raise EditError("no mapping rules are stored yet (a migration run stores them)")
        if base_version is None and strategy != "last_write_wins":
            raise VersionRequired("say which rules version the edit is based on (--version / If-Match)")
        base_row = s.get(MappingRulesVersion, base_version or newest)
        if base_row is None:
            raise EditConflict(f"no mapping rules version {base_version} (newest {newest})", newest, [])
        newest_row = s.get(MappingRulesVersion, newest)
        assert newest_row is not None  # newest is the highest stored version
        current = yaml.safe_load(newest_row.content) or {}
        resolution = "applied"
        if base_row.version != newest:
            if strategy == "last_write_wins":
                resolution = "last_write_wins"
            else:
                before, now = _entries(yaml.safe_load(base_row.content) or {}), _entries(current)
                changed = sorted(e for e in changes if before.get(e) != now.get(e))
                if not policy.conflict_resolution.merge_support or changed:
                    raise EditConflict(
                        f"mapping rules version {base_row.version} is stale (newest {newest})"
                        + (f"; {', '.join(changed)} changed since" if changed else ""),
                        newest,
                        changed or sorted(changes),
                    )
                resolution = "merged"
        try:
            rules = from_dict(_apply(current, changes), Path(f"mapping rules version {newest}"))
        except MappingRulesError as exc:
            raise EditError(str(exc)) from None
        content = rules.to_yaml()
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        same = s.scalar(select(MappingRulesVersion.version).where(MappingRulesVersion.sha256 == digest))
        if same is not None:
            return same, "unchanged"
        s.add(
            MappingRulesVersion(
                version=newest + 1,
                sha256=digest,
                content=content,
                origin=f"edited by {actor} from version {base_row.version}",
                run_id="mapping_rules",
                created_by=actor,
            )
        )
        s.add(
            AuditEntry(
                actor=actor,
                action="mapping_rules_edited",
                run_id="mapping_rules",
                detail={
                    "changes": changes,
                    "based_on": base_row.version,
                    "version": newest + 1,
                    "resolution": resolution,
                },
            )
        )
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            raise EditConflict(
                f"mapping rules version {newest + 1} was stored by someone else meanwhile; read them again",
                newest + 1,
                sorted(changes),
            ) from None
    return newest + 1, resolution


def add_rules_routes(app) -> None:
    """GET/PATCH /mapping-rules for editors (If-Match or `version`), errors as JSON."""

    @app.get("/mapping-rules")
    def show_rules(response: Response, actor: Annotated[str, Depends(editor)]):
        from include.library_db.store import LibraryStore

        url = current_config().library_db_url()
        newest = latest_version(url)
        if newest is None:
            return JSONResponse({"detail": "no mapping rules are stored yet"}, status_code=404)
        response.headers["ETag"] = f'"{newest}"'
        stored = LibraryStore(url).mapping_rules(newest)
        return {"version": newest, "rules": yaml.safe_load(stored.content) if stored else None}

    @app.patch("/mapping-rules")
    def patch_rules(
        changes: Annotated[dict[str, str | None], Body(embed=True)],
        actor: Annotated[str, Depends(editor)],
        response: Response,
        version: Annotated[int | None, Body(embed=True)] = None,
        if_match: Annotated[str | None, Header()] = None,
    ):
        config = current_config()
        base = version if version is not None else _version_of(if_match)
        try:
            new, resolution = edit_rules(config.library_db_url(), changes, base, actor, config.concurrency)
        except EditError as exc:
            audit_library(config, "mapping_rules", actor, "mapping_rules_edit_refused", {"reason": str(exc)})
            body: dict[str, object] = {"detail": str(exc)}
            if isinstance(exc, EditConflict):
                body.update(current_version=exc.current_version, conflicting_fields=exc.fields)
            return JSONResponse(body, status_code=exc.status)
        response.headers["ETag"] = f'"{new}"'
        return {"version": new, "resolution": resolution}
