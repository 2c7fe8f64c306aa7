"""Storage high availability: checksums after every write, a secondary store that must hold a
version before it goes live, and readers (promotion, sync) that fall back to the secondary while
the primary is unreachable. S3 is moto's server on localhost; corruption is planted in the copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from include.config import Target
from include.deployment import (
    DeploymentError,
    current_local,
    current_s3,
    live_version,
    manifest,
    publish,
    s3_client,
)

from .test_deployment import _release
from .test_deployment_s3 import _uri_connection, moto  # noqa: F401  (the fixture)


def _local(path: Path) -> Target:
    return Target(kind="local", path=str(path))


def test_a_corrupted_local_copy_is_refused_and_the_pointer_stays(tmp_path, monkeypatch):
    import include.deployment as deployment

    target = tmp_path / "live"
    publish(_release(tmp_path, "v1", "one"), _local(target), "v1", 5, Path)
    real = shutil.copytree

    def copy_then_rot(src, dst, *args, **kwargs):  # a disk that returns other bytes than were written
        out = real(src, dst, *args, **kwargs)
        if Path(dst).name.endswith(".partial"):  # the staging copy (copytree recurses through here)
            next(Path(dst).rglob("*.kicad_mod")).write_text("(footprint rotten)")
        return out

    monkeypatch.setattr(deployment.shutil, "copytree", copy_then_rot)
    with pytest.raises(DeploymentError, match=r"R\.kicad_mod: sha256 .* expected .*pointer left at v1"):
        publish(_release(tmp_path, "v2", "two"), _local(target), "v2", 5, Path)
    assert current_local(target) == "v1"
    assert not (target / "versions" / "v2").exists()


def test_a_corrupted_s3_upload_is_refused_and_the_pointer_stays(tmp_path, monkeypatch, moto):  # noqa: F811
    import include.deployment as deployment

    target = Target(
        kind="s3", bucket=moto.bucket, prefix="sum", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    publish(_release(tmp_path, "v1", "one"), target, "v1", 5, Path)
    real = deployment.s3_client

    def rotting_client(t):
        client = real(t)
        upload = client.upload_file

        def upload_file(path, bucket, key, **kwargs):
            upload(path, bucket, key, **kwargs)
            if key.endswith(".kicad_sym"):
                client.put_object(Bucket=bucket, Key=key, Body=b"(kicad_symbol_lib rotten)")

        client.upload_file = upload_file
        return client

    monkeypatch.setattr(deployment, "s3_client", rotting_client)
    with pytest.raises(DeploymentError, match=r"Lib\.kicad_sym: sha256 .*pointer left at v1"):
        publish(_release(tmp_path, "v2", "two"), target, "v2", 5, Path)
    assert current_s3(real(target), moto.bucket, "sum") == "v1"


def test_with_a_secondary_both_hold_the_version_before_either_switches(tmp_path, monkeypatch, moto):  # noqa: F811
    primary = Target(
        kind="s3", bucket=moto.bucket, prefix="two", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    secondary = tmp_path / "secondary"
    release = _release(tmp_path, "v1", "one")
    published = publish(release, primary, "v1", 5, Path, _local(secondary))
    assert published.mirrors == [str(secondary / "versions" / "v1")]
    assert current_s3(s3_client(primary), moto.bucket, "two") == "v1" and current_local(secondary) == "v1"
    assert manifest(secondary / "versions" / "v1") == manifest(release)

    # the secondary cannot take v2 (its folder is a file now): neither pointer moves
    shutil.rmtree(secondary)
    secondary.write_text("not a folder")
    with pytest.raises(OSError):
        publish(_release(tmp_path, "v2", "two"), primary, "v2", 5, Path, _local(secondary))
    assert current_s3(s3_client(primary), moto.bucket, "two") == "v1"


def test_readers_fall_back_to_the_secondary_only_when_the_primary_is_down(tmp_path, monkeypatch, moto):  # noqa: F811
    primary = Target(
        kind="s3", bucket=moto.bucket, prefix="rd", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    secondary = _local(tmp_path / "secondary")
    assert live_version(primary, Path, secondary) == (None, "primary")  # up and empty: believed
    publish(_release(tmp_path, "v1", "one"), primary, "v1", 5, Path, secondary)
    assert live_version(primary, Path, secondary) == ("v1", "primary")
    moto.stop()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert live_version(primary, Path, secondary) == ("v1", "secondary")
    with pytest.raises(Exception, match="Could not connect"):
        live_version(primary, Path)  # no secondary: the outage is the caller's (a retry)


def test_promotion_reads_the_live_folder_from_the_secondary_while_the_primary_is_gone(tmp_path):
    import yaml

    from include.config import PipelineConfig
    from include.workflow.promotion import _live_folder

    base = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "altium2kicad.yaml").read_text())
    base["environments"]["testing"]["target"] = {"kind": "local", "path": str(tmp_path / "primary")}
    base["environments"]["testing"]["secondary_target"] = {
        "kind": "local",
        "path": str(tmp_path / "secondary"),
    }
    config = PipelineConfig.model_validate(base)
    env = config.environment("testing")
    publish(_release(tmp_path, "v1", "one"), env.target, "v1", 5, config.path, env.secondary_target)
    assert _live_folder(config, "testing", None, "manual") == (tmp_path / "primary" / "versions" / "v1", "v1")
    (tmp_path / "primary").rename(tmp_path / "primary-unmounted")
    assert _live_folder(config, "testing", None, "manual") == (
        tmp_path / "secondary" / "versions" / "v1",
        "v1",
    )
    assert _live_folder(config, "testing", "v1", "manual")[0] == tmp_path / "secondary" / "versions" / "v1"


def test_sync_source_fails_over_to_the_secondary(tmp_path, monkeypatch, moto):  # noqa: F811
    from include.operations.stores import LocalStore, open_reader
    from include.sync.libraries import live_pointer, sync_library

    primary = Target(
        kind="s3", bucket=moto.bucket, prefix="sy", aws_conn_id=_uri_connection(monkeypatch, moto)
    )
    secondary = _local(tmp_path / "secondary")
    publish(_release(tmp_path, "v1", "one"), primary, "v1", 5, Path, secondary)
    moto.stop()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    source = open_reader(primary, secondary, Path)
    assert live_pointer(source)["version"] == "v1"  # current.json asked of a folder: its CURRENT
    site = LocalStore(tmp_path / "site")
    result = sync_library(source, site, "site-b")
    assert result.switched and result.version == "v1" and result.files == 3
    assert current_local(tmp_path / "site") == "v1"


def test_backup_writes_are_read_back_and_checked(tmp_path):
    from include.operations.backup import BackupIntegrityError, Vault
    from include.operations.stores import LocalStore

    class RottingStore(LocalStore):  # a disk that keeps other bytes than it was given
        def put(self, key: str, data: bytes) -> None:
            super().put(key, data[:-1] + bytes([data[-1] ^ 1]))

    vault = Vault([LocalStore(tmp_path / "a"), RottingStore(tmp_path / "b")], b"k" * 32)
    with pytest.raises(BackupIntegrityError, match=r"b/objects/x: written, but reads back with sha256"):
        vault.put("objects/x", b"plain bytes")
    assert Vault([LocalStore(tmp_path / "c")], b"k" * 32).put("objects/x", b"plain bytes")[1] is True


def test_promotion_publishes_to_the_target_environments_secondary_too(tmp_path):
    import yaml

    from include.config import PipelineConfig
    from include.workflow import promotion

    base = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "altium2kicad.yaml").read_text())
    base["environments"]["testing"]["target"] = {"kind": "local", "path": str(tmp_path / "testing")}
    base["environments"]["production"]["target"] = {"kind": "local", "path": str(tmp_path / "prod")}
    base["environments"]["production"]["secondary_target"] = {
        "kind": "local",
        "path": str(tmp_path / "prod-2"),
    }
    config = PipelineConfig.model_validate(base)
    publish(_release(tmp_path, "v1", "one"), config.environment("testing").target, "v1", 5, config.path)
    prepared = promotion.prepare("test_to_prod", None, config=config)
    result = promotion.publish("test_to_prod", prepared, None, config)
    assert result["mirrors"] == [str(tmp_path / "prod-2" / "versions" / "v1")]
    assert current_local(tmp_path / "prod") == current_local(tmp_path / "prod-2") == "v1"
    assert manifest(tmp_path / "prod-2" / "versions" / "v1") == manifest(
        tmp_path / "testing" / "versions" / "v1"
    )


def test_a_release_that_is_not_what_was_accepted_is_refused(tmp_path):
    """publish(wanted=the accepted manifest): the copies are checked against what acceptance saw,
    so a release folder that differs from it (here: one file edited since) is never published."""
    target = tmp_path / "live"
    publish(_release(tmp_path, "v1", "one"), _local(target), "v1", 5, Path)
    release = _release(tmp_path, "v2", "two")
    accepted = manifest(release)
    (release / "symbols" / "Lib.kicad_sym").write_text("edited after acceptance")
    with pytest.raises(DeploymentError, match="Lib.kicad_sym"):
        publish(release, _local(target), "v2", 5, Path, wanted=accepted)
    assert current_local(target) == "v1"
    assert publish(release, _local(target), "v2", 5, Path, wanted=manifest(release)).version == "v2"
