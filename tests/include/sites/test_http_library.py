"""The deployed parts as KiCad's HTTP library, over real HTTP (uvicorn), read as KiCad reads them.

The client follows KiCad's own steps (common/http_lib/http_lib_connection.cpp and
eeschema/sch_io/http_lib/sch_io_http_lib.cpp): load the `.kicad_httplib`, require `REST_API`,
`v1` and a root URL, append `/v1/`, check the root lists `categories` and `parts`, then read
`categories.json`, `parts/category/{id}.json` and `parts/{id}.json` with `Authorization: Token`.
"""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest

from include.config import load_config
from include.sites.httplib_files import write_httplib_files
from tests.include.sites.conftest import TOKEN, deploy_parts, write_config
from tests.scratch_databases import create_database, drop_database, require_server

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def kicad_root(httplib_path) -> tuple[str, dict]:
    """What KiCad's ensureSettings() makes of the file: the versioned root URL and the headers."""
    settings = json.loads(httplib_path.read_text(encoding="utf-8"))
    assert settings["meta"]["version"] == 1
    source = settings["source"]
    assert source["type"] == "REST_API"  # else "has invalid library type"
    assert source["api_version"] == "v1"  # else "uses API version ..., but KiCad requires version v1"
    assert source["root_url"]  # else "is missing the root URL"
    assert isinstance(source["timeout_parts_seconds"], int)
    assert isinstance(source["timeout_categories_seconds"], int)
    root = source["root_url"].rstrip("/") + "/" + source["api_version"] + "/"
    return root, {"Accept": "application/json", "Authorization": "Token " + source["token"]}


def deploy_with_httplib(home, server_url, url=None, token_in_file=True):
    base = server_url.removesuffix("/altium2kicad-parts")
    write_config(home, f"http_library: {{base_url: '{base}', token_in_file: {str(token_in_file).lower()}}}\n")
    target = deploy_parts(home, "testing", url)
    version = target / "versions" / "v1"
    assert write_httplib_files(version, load_config(), "testing") == [
        version / "database" / "Parts.kicad_httplib"
    ]
    return target, version / "database" / "Parts.kicad_httplib"


def test_kicad_reads_categories_parts_and_one_part(site_home, parts_server):
    _, httplib = deploy_with_httplib(site_home, parts_server)
    root, headers = kicad_root(httplib)
    assert root == f"{parts_server}/testing/Parts/v1/"
    with httpx.Client(headers=headers, follow_redirects=True, timeout=10) as kicad:
        endpoints = kicad.get(root)
        assert endpoints.status_code == 200
        assert endpoints.json()["categories"] and endpoints.json()["parts"]

        categories = kicad.get(root + "categories.json").json()
        assert [(c["id"], c["name"]) for c in categories] == [("1", "Resistors"), ("2", "Capacitors")]
        assert all(isinstance(c["id"], str) for c in categories)

        listed = kicad.get(root + "parts/category/1.json").json()
        assert [p["name"] for p in listed] == ["R 10k/1% ünï", "R-0001", "R-0002"]
        assert all(URL_SAFE.match(p["id"]) for p in listed)  # KiCad puts ids into URLs unescaped
        assert listed[1]["description"] == "Resistors part 1"

        odd = kicad.get(root + f"parts/{listed[0]['id']}.json")
        assert odd.status_code == 200 and odd.json()["name"] == "R 10k/1% ünï"
        part = kicad.get(root + f"parts/{listed[1]['id']}.json")
        assert part.headers["ETag"] == '"1"'
        doc = part.json()
    assert doc["id"] == listed[1]["id"] and doc["name"] == "R-0001"
    assert doc["symbolIdStr"] == "Sample:RES"
    assert doc["exclude_from_bom"] == "False" and doc["exclude_from_board"] == "False"
    assert doc["fields"]["footprint"] == {"value": "Sample:R0603", "visible": "False"}
    assert doc["fields"]["Value"] == {"value": "1k", "visible": "True"}
    assert doc["fields"]["Manufacturer"] == {"value": "Yageo", "visible": "False"}
    assert doc["fields"]["description"]["value"] == "Resistors part 1"


def test_token_is_required_and_checked(site_home, parts_server):
    deploy_with_httplib(site_home, parts_server)
    url = f"{parts_server}/testing/Parts/v1/categories.json"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Token wrong"}).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    refused = httpx.get(url, headers={"Authorization": "Token " + TOKEN[:-1]})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Token"
    assert "Token <token>" in refused.json()["detail"]
    assert httpx.get(url, headers={"Authorization": f"Token {TOKEN}"}).status_code == 200
    # an environment without a token of its own is closed, not open
    deploy_parts(site_home, "development")
    closed = httpx.get(
        f"{parts_server}/development/Parts/v1/categories.json", headers={"Authorization": "Token x"}
    )
    assert closed.status_code == 503 and "altium2kicad_httplib_development" in closed.json()["detail"]


def test_unknown_ids_get_a_clear_404(site_home, parts_server):
    deploy_with_httplib(site_home, parts_server)
    auth = {"Authorization": f"Token {TOKEN}"}
    root = f"{parts_server}/testing/Parts/v1/"
    cases = {
        root + "parts/category/9.json": "no category '9' in Parts (categories 1..2)",
        root + "parts/1-TUlTU0lORw.json": "no part 'MISSING' in category 'Resistors'",
        root + "parts/7-TUlTU0lORw.json": "no category '7'",
        root + "parts/nonsense.json": "is not a part id",
        f"{parts_server}/testing/Other/v1/categories.json": "no deployed parts library 'Other' (deployed: Parts)",
        f"{parts_server}/staging/Parts/v1/categories.json": "no environment 'staging'",
    }
    for url, message in cases.items():
        answer = httpx.get(url, headers=auth)
        assert answer.status_code == 404, url
        assert answer.headers["content-type"] == "application/json"
        assert message in answer.json()["detail"], (url, answer.json())


def test_the_placeholder_token_is_written_unless_configured(site_home, parts_server):
    _, httplib = deploy_with_httplib(site_home, parts_server, token_in_file=False)
    root, headers = kicad_root(httplib)
    assert headers["Authorization"] == "Token ask-the-library-team-for-a-token"
    assert httpx.get(root + "categories.json", headers=headers).status_code == 401


def test_reads_are_read_only_and_use_the_replica(site_home, parts_server, pg_url, monkeypatch):
    """On PostgreSQL: the HTTP library's session refuses writes, and with `read_replicas` the
    replica answers (here a second database whose Value differs, standing in for a replica)."""
    from sqlalchemy import text

    from include.sites.http_library import catalog

    deploy_with_httplib(site_home, parts_server, url=pg_url)
    auth = {"Authorization": f"Token {TOKEN}"}
    part_url = f"{parts_server}/testing/Parts/v1/parts/1-" + "Ui0wMDAx.json"  # R-0001
    assert httpx.get(part_url, headers=auth).json()["fields"]["Value"]["value"] == "1k"
    with pytest.raises(Exception, match="read-only transaction"):
        with catalog("testing", "Parts").engine.begin() as conn:
            conn.execute(text("UPDATE resistors SET \"Value\" = 'x'"))

    require_server("postgresql")
    replica = f"a2k_replica_{uuid.uuid4().hex[:8]}"
    replica_url = create_database("postgresql", replica)
    try:
        from converters.kicad.parts_database import write_tables
        from tests.include.sites.conftest import parts_database

        copy = parts_database()
        copy.libraries[0].rows[1]["Value"] = "from the replica"
        assert not write_tables(copy, replica_url)
        monkeypatch.setenv(
            "AIRFLOW_CONN_PARTS_REPLICA", json.dumps({"conn_type": "postgres", "schema": replica})
        )
        base = parts_server.removesuffix("/altium2kicad-parts")
        write_config(
            site_home,
            f"http_library: {{base_url: '{base}'}}\n"
            "database: {scaling: {read_replicas: [parts_replica], connection_pool: {pool_size: 2, max_overflow: 1}}}\n",
        )
        from include.sites import http_library

        http_library._catalogs.clear()
        answer = httpx.get(part_url, headers=auth).json()
        assert answer["fields"]["Value"]["value"] == "from the replica"
        engine = catalog("testing", "Parts").engine
        assert engine.url.database == replica
        assert engine.pool.size() == 2 and engine.pool._max_overflow == 1
    finally:
        from include.sites import engines

        http_library._catalogs.clear()
        engines.dispose_all()
        drop_database("postgresql", replica)


def test_switched_off_and_timeouts_follow_the_configuration(site_home, parts_server):
    target = deploy_parts(site_home, "testing")
    version = target / "versions" / "v1"
    write_config(site_home, "http_library: {timeout_parts_seconds: 45, timeout_categories_seconds: 900}\n")
    [written] = write_httplib_files(version, load_config(), "testing")
    source = json.loads(written.read_text())["source"]
    assert (source["timeout_parts_seconds"], source["timeout_categories_seconds"]) == (45, 900)
    written.unlink()
    write_config(site_home, "http_library: {enabled: false}\n")
    assert write_httplib_files(version, load_config(), "testing") == []
    off = httpx.get(
        f"{parts_server}/testing/Parts/v1/categories.json", headers={"Authorization": f"Token {TOKEN}"}
    )
    assert off.status_code == 404 and "http_library.enabled" in off.json()["detail"]


def test_no_httplib_for_an_environment_on_s3(site_home):
    target = deploy_parts(site_home, "testing")
    write_config(site_home).write_text(
        "environments:\n"
        "  development: {validation_level: basic, target: {kind: local, path: deploy/development}}\n"
        "  testing: {validation_level: full, target: {kind: s3, bucket: parts}}\n"
    )
    assert write_httplib_files(target / "versions" / "v1", load_config(), "testing") == []
