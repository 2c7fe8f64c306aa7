"""A DbLib taken through the pipeline's tasks to a deployment, then read over HTTP as KiCad does:
the `.kicad_httplib` the deployment wrote leads to the converted parts; promotion rewrites it."""

from __future__ import annotations

import json
import uuid

import httpx

from converters.altium.dblib import DbLibTable
from converters.fixtures.dblib_writer import CSV_CONNECTION, standard_field_maps, write_dblib
from converters.fixtures.sample_library import write_sample_library
from include import pipeline
from include.config import DEFAULT_CONFIG, load_config
from tests.include.sites.test_http_library import kicad_root


def test_a_deployed_dblib_is_served_as_written(site_home, parts_server, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(DEFAULT_CONFIG))
    monkeypatch.setenv("AIRFLOW_CONN_ALTIUM2KICAD_HTTPLIB_DEVELOPMENT", json.dumps({"password": "dev-token"}))
    src = site_home / "src"
    write_sample_library(src)
    (src / "Parts.csv").write_text(
        "Part Number,Library Path,Library Ref,Footprint Path,Footprint Ref,Value\n"
        "R1,Sample.SchLib,RES,Sample.PcbLib,R0603,10k\nC1,Sample.SchLib,CAP,Sample.PcbLib,C0603,100n\n"
    )
    dblib = write_dblib(
        src / "Stock.DbLib",
        CSV_CONNECTION.format(path="Parts.csv"),
        [DbLibTable("Parts.csv")],
        standard_field_maps("Parts.csv", parameters={"Value": True}),
        database_path="Parts.csv",
    )
    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.http_library.base_url = parts_server.removesuffix("/altium2kicad-parts")
    config.http_library.token_in_file = True
    rc = pipeline.RunContext(
        f"manual__{uuid.uuid4().hex[:6]}",
        "full_library_migration",
        {"source": str(dblib), "environment": "development", "sample_size": 1},
        config,
        "tester",
    )
    units = pipeline.analyze_source_library(rc)
    rules = pipeline.create_mapping_rules(units, rc)
    converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
    pipeline.deploy(converted, "test", rc)  # what user acceptance sees
    deployed = pipeline.deploy(converted, "production", rc)
    live = site_home / "var/altium2kicad/deploy/development/current/database"
    assert deployed["environment"] == "development"
    root, headers = kicad_root(live / "Stock.kicad_httplib")
    assert headers["Authorization"] == "Token dev-token"  # token_in_file: the environment's own
    with httpx.Client(headers=headers, timeout=10) as kicad:
        assert kicad.get(root).status_code == 200
        [category] = kicad.get(root + "categories.json").json()
        parts = kicad.get(root + f"parts/category/{category['id']}.json").json()
        assert sorted(p["name"] for p in parts) == ["C1", "R1"]
        r1 = kicad.get(root + f"parts/{next(p['id'] for p in parts if p['name'] == 'R1')}.json").json()
    assert r1["symbolIdStr"] == "Sample:RES"
    assert r1["fields"]["footprint"]["value"] == "Sample:R0603"
    assert r1["fields"]["Value"] == {"value": "10k", "visible": "True"}


def test_promotion_rewrites_the_httplib_for_its_target(site_home, monkeypatch):
    from include.sites.httplib_files import write_httplib_files
    from include.workflow import promotion
    from tests.include.sites.conftest import deploy_parts

    monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(DEFAULT_CONFIG))
    config = load_config(DEFAULT_CONFIG)
    testing = deploy_parts(site_home / "var" / "altium2kicad", "testing")
    write_httplib_files(testing / "versions" / "v1", config, "testing")
    prepared = promotion.prepare("test_to_prod", None, config)
    promotion.publish("test_to_prod", prepared, "run1", config)
    production = site_home / "var/altium2kicad/deploy/production/current/database"

    def root(folder):
        return json.loads((folder / "Parts.kicad_httplib").read_text())["source"]["root_url"]

    assert root(production) == "http://localhost:8080/altium2kicad-parts/production/Parts"
    assert root(testing / "current" / "database") == "http://localhost:8080/altium2kicad-parts/testing/Parts"
    assert (production / "Parts.sqlite").read_bytes() == (
        testing / "current/database/Parts.sqlite"
    ).read_bytes()
