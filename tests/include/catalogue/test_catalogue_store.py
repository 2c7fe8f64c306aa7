"""Where catalogues go and what they show: beside a promoted version, on S3 (moto's server),
at an explicit location, in the configured formats; approximations and missing 3D models shown;
the configuration's mistakes named; a store that cannot be written reported, not raised."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from include.catalogue.publish import build, write_catalogue
from include.config import ConfigError
from include.deployment import download_s3_version, manifest, manifest_digest, publish, s3_versions
from tests.include.test_deployment_s3 import _uri_connection, moto  # noqa: F401 (the fixture)

from .conftest import WikiServer, config_with


@pytest.fixture
def version(deployed, tmp_path):
    """A copy of the deployed sample version, free to edit."""
    folder = tmp_path / "version"
    shutil.copytree(deployed.root / "versions" / deployed.result["version"], folder)
    return folder


def test_promotion_writes_the_catalogue_beside_the_promoted_version(deployed, monkeypatch):
    from include.workflow import promotion

    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(deployed.home))
    config = config_with()
    folder = deployed.root / "versions" / deployed.result["version"]
    prepared = {"folder": str(folder), "version": "v7", "manifest_sha256": manifest_digest(manifest(folder))}
    result = promotion.publish("test_to_prod", prepared, None, config)
    production = deployed.home / "var" / "altium2kicad" / "deploy" / "production"
    assert result["catalogue"]["location"] == str(production / "catalogue" / "v7" / "index.html")
    assert (production / "catalogue" / "v7" / "catalogue.pdf").is_file()
    assert manifest(production / "versions" / "v7") == manifest(folder)  # exactly the approved files


def test_catalogue_on_s3_beside_the_version_and_pruned_with_it(version, tmp_path, monkeypatch, moto):  # noqa: F811
    conn = _uri_connection(monkeypatch, moto)
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    config = config_with()
    target = {"kind": "s3", "bucket": moto.bucket, "prefix": "lib", "aws_conn_id": conn}
    from include.config import PipelineConfig

    data = config.model_dump()
    data["environments"]["testing"]["target"] = target
    config = PipelineConfig.model_validate(data)
    env = config.environments["testing"]
    from include.deployment import s3_client

    client = s3_client(env.target)
    for v in ("v1", "v2", "v3"):
        publish(version, env.target, v, 1, config.path)
        result = write_catalogue(config, "testing", v, version)
        assert result["location"] == f"s3://{moto.bucket}/lib/catalogue/{v}/index.html", result
    head = client.head_object(Bucket=moto.bucket, Key="lib/catalogue/v3/index.html")
    assert head["ContentType"] == "text/html"
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=moto.bucket, Prefix="lib/catalogue/")["Contents"]]
    assert {k.split("/")[2] for k in keys} == {"v2", "v3"}  # v1's version was pruned: its catalogue too
    assert "lib/catalogue/v3/libraries/symbols-Sample.html" in keys
    assert set(s3_versions(client, moto.bucket, "lib")) == {"v2", "v3"}
    copy = download_s3_version(client, moto.bucket, "lib", "v3", tmp_path / "back")
    assert manifest(copy) == manifest(version)  # the version holds the release files, nothing else


def test_explicit_location_and_html_only(version, tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    config = config_with(
        documentation={
            "enabled": True,
            "formats": ["html"],
            "publish_location": {"kind": "local", "path": "docs"},
        }
    )
    result = write_catalogue(config, "testing", "v1", version)
    assert result["location"] == str(tmp_path / "docs" / "testing" / "v1" / "index.html")
    assert (tmp_path / "docs" / "testing" / "v1" / "libraries" / "symbols-Sample.html").is_file()
    assert not (tmp_path / "docs" / "testing" / "v1" / "catalogue.pdf").exists()
    assert "catalogue.pdf" not in (tmp_path / "docs" / "testing" / "v1" / "index.html").read_text()


def test_pdf_only_and_disabled(version, tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    result = write_catalogue(config_with(documentation={"formats": ["pdf"]}), "testing", "v1", version)
    folder = tmp_path / "var" / "altium2kicad" / "deploy" / "testing" / "catalogue" / "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["catalogue.pdf"] and result["files"] == 1
    assert result["location"] == str(folder / "catalogue.pdf")
    assert write_catalogue(config_with(documentation={"enabled": False}), "testing", "v2", version) == {
        "enabled": False
    }
    assert not (folder.parent / "v2").exists()


def test_an_unwritable_store_is_reported_not_raised(version, tmp_path, monkeypatch):
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    (tmp_path / "docs").write_text("a file where the folder should be")
    config = config_with(documentation={"publish_location": {"kind": "local", "path": "docs"}})
    result = write_catalogue(config, "testing", "v1", version)
    assert "error" in result and "docs" in result["error"]


def test_approximations_and_missing_models_are_shown(version, tmp_path):
    report = json.loads((version / "report.json").read_text())
    for row in report["items"]:
        if row["target"] == "Sample:RES":
            row["status"], row["messages"] = (
                "warning",
                ["pin 2: electrical type 'open emitter' became passive"],
            )
    (version / "report.json").write_text(json.dumps(report))
    (version / "3dmodels" / "Sample.3dshapes" / "LED0805.step").unlink()
    sym = version / "symbols" / "Sample.kicad_sym"
    sym.write_text(sym.read_text().replace('(property "Value" "10k"', '(property "Value" "10k</script><b>x"'))
    facts = build(version, "v1", "testing", tmp_path / "out", ["html", "pdf"])
    assert facts.counts()["approximated"] == 1 and facts.counts()["missing_3d_model"] == 1
    page = (tmp_path / "out" / "libraries" / "symbols-Sample.html").read_text()
    assert "<li>pin 2: electrical type &#39;open emitter&#39; became passive</li>" in page
    assert "10k&lt;/script&gt;&lt;b&gt;x" in page and "</script><b>x" not in page
    assert "</script>" not in (tmp_path / "out" / "search-index.js").read_text()
    footprints = (tmp_path / "out" / "libraries" / "footprints-Sample.html").read_text()
    assert footprints.count("missing from this version") == 1
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "out" / "catalogue.pdf"), "-"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Approximated: pin 2: electrical type 'open emitter' became passive" in text
    assert "3D model: missing" in text


def test_wiki_through_an_airflow_connection_with_a_token(version, monkeypatch):
    from include.catalogue.facts import read_version
    from include.catalogue.settings import Wiki
    from include.catalogue.wiki import publish_summary

    server = WikiServer()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_CATALOGUE_WIKI",
            json.dumps({"conn_type": "http", "host": server.url, "password": "wiki-token"}),
        )
        wiki = Wiki(auto_update=True, conn_id="catalogue_wiki", space="ENG", page_prefix="lib-")
        result = publish_summary(wiki, read_version(version, "v9", "production"), "s3://docs/x/index.html")
    finally:
        server.close()
    assert result["failed"] == [] and len(result["sent"]) == 5
    first = server.received[0]
    assert first["path"] == "/api/pages/ENG/lib-production"
    assert first["headers"]["Authorization"] == "Bearer wiki-token"
    assert "s3://docs/x/index.html" in first["body"]["body"] and first["body"]["version"] == "v9"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"wiki": {"auto_update": True}}, "auto_update needs conn_id or url"),
        ({"documentation": {"formats": []}}, "formats: name html, pdf or both"),
        ({"documentation": {"formats": ["docx"]}}, "knowledge_sharing.documentation.formats"),
        ({"documentation": {"publish_location": "inside_version"}}, "publish_location"),
    ],
)
def test_configuration_mistakes_are_named(section, message):
    with pytest.raises(ConfigError, match=message):
        config_with(**section)


def test_a_large_version_gets_a_pdf_without_pictures(version, tmp_path, monkeypatch):
    """Above documentation.pdf_pictures_up_to the PDF still lists every item, without pictures."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    config = config_with(documentation={"formats": ["pdf"], "pdf_pictures_up_to": 33})  # the sample has 34
    write_catalogue(config, "testing", "v1", version)
    pdf = tmp_path / "var" / "altium2kicad" / "deploy" / "testing" / "catalogue" / "v1" / "catalogue.pdf"
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, timeout=60
    ).stdout
    assert len(images.splitlines()) == 2  # the header only
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    assert "Pictures left out: 34 items, more than documentation.pdf_pictures_up_to (33)" in text
    assert all(name in text for name in ("LQFP-32", "OPAMP_DUAL", "SOT-23-5", "10k"))
    write_catalogue(
        config_with(documentation={"formats": ["pdf"], "pdf_pictures_up_to": 34}), "testing", "v1", version
    )
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, timeout=60
    ).stdout
    assert len(images.splitlines()) - 2 == 34


def test_wiki_without_a_stored_catalogue(version, tmp_path, monkeypatch):
    """documentation.enabled false, wiki.auto_update true: the summary pages still go to the wiki."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    server = WikiServer()
    try:
        config = config_with(documentation={"enabled": False}, wiki={"auto_update": True, "url": server.url})
        result = write_catalogue(config, "testing", "v1", version)
    finally:
        server.close()
    assert result["enabled"] is False and len(result["wiki"]["sent"]) == 5
    assert len(server.received) == 5
    assert not (tmp_path / "var" / "altium2kicad" / "deploy" / "testing" / "catalogue").exists()


def test_a_secondary_store_gets_its_copy(version, tmp_path, monkeypatch):
    """Beside the version on each store the environment deploys to (primary and secondary)."""
    monkeypatch.setenv("ALTIUM2KICAD_HOME", str(tmp_path))
    from include.config import PipelineConfig

    data = config_with().model_dump()
    data["environments"]["testing"]["secondary_target"] = {"kind": "local", "path": "replica"}
    config = PipelineConfig.model_validate(data)
    result = write_catalogue(config, "testing", "v1", version)
    assert result["mirrors"] == [str(tmp_path / "replica" / "catalogue" / "v1" / "index.html")]
    assert (tmp_path / "replica" / "catalogue" / "v1" / "libraries" / "footprints-Sample.html").is_file()
    assert (
        tmp_path / "var" / "altium2kicad" / "deploy" / "testing" / "catalogue" / "v1" / "index.html"
    ).is_file()


def test_origins_keep_the_listed_kinds_only(tmp_path):
    from include.catalogue.facts import origins

    rows = [
        {"source": "C:\\libs\\A.SchLib", "item": "RES", "kind": "symbol", "target": "A:RES", "status": "ok"},
        {
            "source": "B.PcbLib",
            "item": "R0603",
            "kind": "footprint",
            "target": "B:R0603",
            "status": "warning",
        },
        {"source": "P.DbLib", "item": "Parts/R-1", "kind": "part", "target": "P/Parts/R-1", "status": "ok"},
    ]
    (tmp_path / "report.json").write_text(json.dumps({"items": rows}))
    found = origins(tmp_path)
    assert set(found) == {("symbol", "A:RES"), ("footprint", "B:R0603")}  # never a part's row
    assert found[("symbol", "A:RES")].source_file == "A.SchLib"
