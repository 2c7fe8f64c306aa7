"""Publishing a converted library: assemble the release, write a new version, then switch.

The live library is whatever the pointer names (`current` symlink + `CURRENT` file in a folder,
`current.json` in S3). A new version is written completely under `versions/<version>/` first; only
then is the pointer replaced, in one step. A deployment that fails half-way leaves the previous
version live. Re-deploying the same version rewrites it and switches again (idempotent).
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)
LAYOUT = ("symbols", "footprints", "3dmodels", "database")


class DeploymentError(Exception):
    pass


@dataclass
class Release:
    folder: Path
    files: int = 0
    skipped_identical: int = 0
    conflicts: list[str] = field(default_factory=list)


def assemble(outputs: list[Path], folder: Path) -> Release:
    """Merges per-library conversion outputs into one library layout (+ merged report.json)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    release = Release(folder)
    rows = []
    for out in outputs:
        for part in LAYOUT:
            for src in sorted((out / part).rglob("*")) if (out / part).is_dir() else []:
                if not src.is_file():
                    continue
                dst = folder / src.relative_to(out)
                if dst.exists():
                    if filecmp.cmp(src, dst, shallow=False):
                        release.skipped_identical += 1
                    else:
                        release.conflicts.append(
                            f"{dst.relative_to(folder)}: {out.name} differs from an earlier library; kept the first"
                        )
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                release.files += 1
        report = out / "report.json"
        if report.is_file():
            rows += json.loads(report.read_text(encoding="utf-8"))["items"]
    (folder / "report.json").write_text(
        json.dumps({"output": str(folder), "items": rows}, indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return release


@dataclass
class Published:
    location: str  # where the version lives
    live: str  # what the pointer names
    version: str
    previous: str | None
    files: int

    def to_json(self) -> dict:
        return self.__dict__.copy()


def pointer_doc(version: str, files: int) -> dict:
    """What a pointer (`CURRENT` / `current.json`) holds: version, its folder, file count, when."""
    return {
        "version": version,
        "path": f"versions/{version}",
        "files": files,
        "switched_at": datetime.now(UTC).isoformat(),
    }


# -- local folder ---------------------------------------------------------------------------
def current_local(target: Path) -> str | None:
    try:
        return json.loads((target / "CURRENT").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def publish_local(release: Path, target: Path, version: str, keep: int = 5) -> Published:
    """Publishes under an exclusive lock of the target: two publishes (the Airflow `deployments`
    pool aside: admin commands, tests) never interleave their pointer switches and prunes."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".publish.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _publish_local_locked(release, target, version, keep)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _publish_local_locked(release: Path, target: Path, version: str, keep: int) -> Published:
    previous = current_local(target)
    staging = target / "versions" / f".{version}.partial"
    final = target / "versions" / version
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(release, staging, symlinks=False)
    files = sum(1 for p in staging.rglob("*") if p.is_file())
    if final.exists():
        if previous == version:  # re-deploying the live version: park it, swap, then drop it
            old = target / "versions" / f".{version}.old"
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            staging.rename(final)
            shutil.rmtree(old)
        else:
            shutil.rmtree(final)
            staging.rename(final)
    else:
        staging.rename(final)
    switch_local(target, version, files)
    _prune_local(target, keep, version)
    return Published(str(final), str(target / "current"), version, previous, files)


def switch_local(target: Path, version: str, files: int) -> None:
    """Points `current` and `CURRENT` at versions/<version>, each replaced atomically (a rename)."""
    link_tmp = target / ".current.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path("versions") / version, link_tmp)
    os.replace(link_tmp, target / "current")
    doc_tmp = target / ".CURRENT.tmp"
    doc_tmp.write_text(json.dumps(pointer_doc(version, files), indent=1), encoding="utf-8")
    os.replace(doc_tmp, target / "CURRENT")


def _prune_local(target: Path, keep: int, live: str) -> None:
    versions = sorted(
        (p for p in (target / "versions").iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in versions[: -keep - 1]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)


# -- S3 (any S3-compatible endpoint) -----------------------------------------------------------
def s3_client(target):
    """A boto3 S3 client made by the Amazon provider's S3Hook on the target's Airflow connection.

    The hook honours what the connection holds (keys, session token, `role_arn` to assume, region,
    `endpoint_url` in its extra, in URI or JSON form); the target's own `region` and `endpoint_url`
    win when set. Without `aws_conn_id`, boto3's default chain (environment, instance role) is used.
    A connection id that does not resolve is an error, never an anonymous client.
    """
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=target.aws_conn_id, region_name=target.region)
    if target.aws_conn_id:
        hook.get_connection(target.aws_conn_id)  # raises when the connection is missing or unreadable
        log.info("s3://%s: credentials from Airflow connection '%s'", target.bucket, target.aws_conn_id)
    else:
        log.info("s3://%s: no aws_conn_id, credentials from boto3's default chain", target.bucket)
    if not target.endpoint_url:
        return hook.get_conn()
    session = hook.get_session(region_name=hook.region_name)
    return session.client(
        "s3",
        endpoint_url=target.endpoint_url,
        region_name=hook.region_name or "us-east-1",
        config=hook.config,
        verify=hook.verify,
    )


def _key(prefix: str, *parts: str) -> str:
    return "/".join(p.strip("/") for p in (prefix, *parts) if p.strip("/"))


def current_s3(client, bucket: str, prefix: str) -> str | None:
    try:
        body = client.get_object(Bucket=bucket, Key=_key(prefix, "current.json"))["Body"].read()
        return json.loads(body)["version"]
    except client.exceptions.NoSuchKey:
        return None


def publish_s3(release: Path, client, bucket: str, prefix: str, version: str, keep: int = 5) -> Published:
    previous = current_s3(client, bucket, prefix)
    base = _key(prefix, "versions", version)
    # a dangling link is listed too: it must fail the upload (as it fails a local copy), not vanish
    files = sorted(p for p in release.rglob("*") if p.is_file() or p.is_symlink())
    for path in files:
        client.upload_file(str(path), bucket, _key(base, path.relative_to(release).as_posix()))
    listed = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base + "/"):
        listed += len(page.get("Contents", []))
    if listed < len(files):
        raise DeploymentError(
            f"s3://{bucket}/{base}: {listed} objects listed after upload, {len(files)} expected; "
            f"pointer left at {previous}"
        )
    client.put_object(
        Bucket=bucket,
        Key=_key(prefix, "current.json"),
        ContentType="application/json",
        Body=json.dumps(pointer_doc(version, len(files)), indent=1).encode(),
    )
    _prune_s3(client, bucket, prefix, keep, version)
    return Published(
        f"s3://{bucket}/{base}",
        f"s3://{bucket}/{_key(prefix, 'current.json')}",
        version,
        previous,
        len(files),
    )


def s3_versions(client, bucket: str, prefix: str) -> dict[str, datetime]:
    """Each version folder under the prefix with the time its newest object was written."""
    base = _key(prefix, "versions") + "/"
    versions: dict[str, datetime] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for obj in page.get("Contents", []):
            name = obj["Key"][len(base) :].split("/", 1)[0]
            if name and (name not in versions or obj["LastModified"] > versions[name]):
                versions[name] = obj["LastModified"]
    return versions


def _prune_s3(client, bucket: str, prefix: str, keep: int, live: str) -> None:
    """backup.keep_versions on S3 as on disk: the live version plus the `keep` newest others."""
    versions = sorted(s3_versions(client, bucket, prefix).items(), key=lambda kv: kv[1])
    for name, _ in versions[: -keep - 1]:
        if name == live:
            continue
        base = _key(prefix, "versions", name) + "/"
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def publish(release: Path, target, version: str, keep: int, resolve_path) -> Published:
    """Publishes to a config `Target` (local folder or S3 bucket)."""
    if target.kind == "local":
        return publish_local(release, resolve_path(target.path), version, keep)
    return publish_s3(release, s3_client(target), target.bucket, target.prefix, version, keep)
