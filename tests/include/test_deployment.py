"""Deployment: new version first, then the pointer; a failure leaves the previous version live."""

from __future__ import annotations

import json
import os
import shutil
import socket

import pytest

from include.deployment import assemble, current_local, current_s3, publish_local, publish_s3


def _release(tmp_path, name: str, text: str):
    out = tmp_path / f"out-{name}"
    (out / "symbols").mkdir(parents=True)
    (out / "symbols" / "Lib.kicad_sym").write_text(text)
    (out / "footprints" / "Lib.pretty").mkdir(parents=True)
    (out / "footprints" / "Lib.pretty" / "R.kicad_mod").write_text('(footprint "R")')
    (out / "report.json").write_text(json.dumps({"items": [{"item": name}]}))
    return assemble([out], tmp_path / f"release-{name}").folder


def test_assemble_merges_and_reports_conflicts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, text in ((a, "one"), (b, "two")):
        (out / "symbols").mkdir(parents=True)
        (out / "symbols" / "Same.kicad_sym").write_text(text)
        (out / "symbols" / f"{out.name}.kicad_sym").write_text(text)
    release = assemble([a, b, a], tmp_path / "release")
    assert sorted(p.name for p in (release.folder / "symbols").iterdir()) == [
        "Same.kicad_sym",
        "a.kicad_sym",
        "b.kicad_sym",
    ]
    assert (release.folder / "symbols" / "Same.kicad_sym").read_text() == "one"
    assert len(release.conflicts) == 1 and "Same.kicad_sym" in release.conflicts[0]
    assert release.skipped_identical == 2


def test_local_switch_rollback_safety_and_rerun(tmp_path):
    target = tmp_path / "deploy"
    first = publish_local(_release(tmp_path, "v1", "first"), target, "v1")
    assert first.previous is None and current_local(target) == "v1"
    assert (target / "current" / "symbols" / "Lib.kicad_sym").read_text() == "first"
    # a release that cannot be copied (a dangling link) fails before the switch
    broken = _release(tmp_path, "v2", "second")
    os.symlink(tmp_path / "gone", broken / "symbols" / "Dangling.kicad_sym")
    with pytest.raises(shutil.Error, match="Dangling.kicad_sym"):
        publish_local(broken, target, "v2")
    assert current_local(target) == "v1"
    assert (target / "current" / "symbols" / "Lib.kicad_sym").read_text() == "first"
    (broken / "symbols" / "Dangling.kicad_sym").unlink()
    second = publish_local(broken, target, "v2")
    assert (
        second.previous == "v1" and (target / "current" / "symbols" / "Lib.kicad_sym").read_text() == "second"
    )
    again = publish_local(broken, target, "v2")  # idempotent re-deploy of the live version
    assert again.previous == "v2" and os.readlink(target / "current") == "versions/v2"
    assert sorted(p.name for p in (target / "versions").iterdir()) == ["v1", "v2"]


@pytest.fixture(scope="module")
def s3():
    """A real S3-protocol server (moto) on localhost."""
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket="libs")
    yield client
    server.stop()


def test_s3_versions_and_pointer(tmp_path, s3):
    first = publish_s3(_release(tmp_path, "v1", "first"), s3, "libs", "kicad", "v1")
    assert current_s3(s3, "libs", "kicad") == "v1" and first.files == 3
    keys = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket="libs", Prefix="kicad/versions/v1/")["Contents"]
    )
    assert keys == [
        "kicad/versions/v1/footprints/Lib.pretty/R.kicad_mod",
        "kicad/versions/v1/report.json",
        "kicad/versions/v1/symbols/Lib.kicad_sym",
    ]
    broken = _release(tmp_path, "v2", "second")
    os.symlink(tmp_path / "gone", broken / "symbols" / "Dangling.kicad_sym")
    with pytest.raises(FileNotFoundError):
        publish_s3(broken, s3, "libs", "kicad", "v2")  # fails after the footprints were uploaded
    assert current_s3(s3, "libs", "kicad") == "v1"  # ... and never switched
    (broken / "symbols" / "Dangling.kicad_sym").unlink()
    second = publish_s3(broken, s3, "libs", "kicad", "v2")
    assert second.previous == "v1" and current_s3(s3, "libs", "kicad") == "v2"
    body = s3.get_object(Bucket="libs", Key="kicad/versions/v2/symbols/Lib.kicad_sym")["Body"].read()
    assert body == b"second"
