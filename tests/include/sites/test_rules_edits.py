"""Two people editing the stored mapping rules at once (library database on real PostgreSQL)."""

from __future__ import annotations

import yaml

from include.library_db.store import LibraryStore
from include.mapping_rules import MappingRules
from include.operations.admin import main as admin
from tests.include.sites.test_part_edits import concurrently, configure
from tests.include.test_report_plugin import metadata_db, simple_auth_manager  # noqa: F401 (fixtures)


def rules_edit(actor, *assignments, version=None):
    args = ["rules", "edit", "--actor", actor] + [a for s in assignments for a in ("--set", s)]
    return admin(args + (["--version", str(version)] if version is not None else []))


def stored(url, version) -> dict:
    return yaml.safe_load(LibraryStore(url).mapping_rules(version).content)


def test_concurrent_rule_edits_are_refused_merged_or_win(site_home, pg_url, monkeypatch, capsys):
    monkeypatch.setenv("ALTIUM2KICAD_DB_URL", pg_url)
    store = LibraryStore(pg_url)
    first = MappingRules(field_renames={"Supplier 1": "Supplier"}, library_names={"Fuse_Library": "Fuses"})
    assert store.put_mapping_rules("run", first.to_yaml(), "generated", "airflow") == 1
    configure(site_home)

    codes = concurrently(
        lambda: rules_edit("alice", "field_renames.Supplier 1=Vendor", version=1),
        lambda: rules_edit("bob", "field_renames.Supplier 1=Distributor", version=1),
    )
    assert sorted(codes) == [0, 4]  # one new version 2; the other stale (or lost the race for 2)
    assert stored(pg_url, 2)["field_renames"]["Supplier 1"] in ("Vendor", "Distributor")
    err = capsys.readouterr().err
    assert "mapping rules version 1 is stale" in err or "version 2 was stored by someone else" in err

    assert rules_edit("carol", "library_names.Fuse_Library=Protection", version=1) == 0  # merged
    merged = stored(pg_url, 3)
    assert merged["library_names"]["Fuse_Library"] == "Protection"
    assert merged["field_renames"]["Supplier 1"] in ("Vendor", "Distributor")  # kept, not reverted

    configure(site_home, strategy="last_write_wins")
    assert rules_edit("dave", "field_renames.Supplier 1=Mouser", version=1) == 0
    assert stored(pg_url, 4)["field_renames"]["Supplier 1"] == "Mouser"
    assert rules_edit("erin", "layer_map.Mechanical 15=Not.A.Layer") == 2  # checked as a rules file is
    actions = [e.action for e in store.audit_log("mapping_rules")]
    assert actions.count("mapping_rules_edited") == 3
    assert "mapping_rules_edit_refused" in actions


def test_rules_over_rest(site_home, parts_server, simple_auth_manager):  # noqa: F811
    import httpx
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    configure(site_home)
    url = f"sqlite:///{site_home / 'library.db'}"
    jwt = simple_auth_manager.generate_jwt(SimpleAuthManagerUser(username="alice", role="user"))
    editor = {"Authorization": f"Bearer {jwt}"}
    rules = f"{parts_server}/mapping-rules"
    assert httpx.get(rules).status_code == 401
    assert httpx.get(rules, headers=editor).status_code == 404  # nothing stored yet
    LibraryStore(url).put_mapping_rules(
        "run", MappingRules(field_renames={"A": "B"}).to_yaml(), "generated", "x"
    )
    shown = httpx.get(rules, headers=editor)
    assert shown.headers["ETag"] == '"1"' and shown.json()["rules"]["field_renames"] == {"A": "B"}
    first = httpx.patch(
        rules, json={"changes": {"field_renames.A": "C"}}, headers={**editor, "If-Match": '"1"'}
    )
    assert first.json() == {"version": 2, "resolution": "applied"}
    stale = httpx.patch(rules, json={"changes": {"field_renames.A": "D"}, "version": 1}, headers=editor)
    assert stale.status_code == 409 and stale.json()["conflicting_fields"] == ["field_renames.A"]
