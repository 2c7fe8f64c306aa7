"""Publishing a converted library: assemble the release, write a new version, then switch.

The live library is whatever the pointer names (`current` symlink + `CURRENT` file in a folder,
`current.json` in S3). A new version is written completely under `versions/<version>/` first; only
then is the pointer replaced, in one step. A deployment that fails half-way leaves the previous
version live. Re-deploying the same version rewrites it and switches again (idempotent).

Every write is verified by checksum before anything points at it: the copy of each file is read
back and its sha256 compared with the release's. With a secondary store
(`environments.<env>.secondary_target`) a version goes live only when both hold it: written to
both, verified on both, then both pointers switched. Readers of the live version
(`live_version`) fall back to the secondary while the primary is unreachable.
"""

from __future__ import annotations

import fcntl
import filecmp
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
LAYOUT = ("symbols", "footprints", "3dmodels", "database")


class DeploymentError(Exception):
    pass


# Files that name the environment a release is published to (the HTTP library's endpoint), written
# per environment: not part of what acceptance saw and compares.
PER_ENVIRONMENT_SUFFIXES = (".kicad_httplib",)


def manifest(folder: Path) -> dict[str, str]:
    """sha256 of every file of a release, by relative path (what acceptance saw)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix not in PER_ENVIRONMENT_SUFFIXES
    }


def manifest_digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def _differences(wanted: dict[str, str], found: dict[str, str]) -> list[str]:
    missing = [f"{k}: missing" for k in sorted(set(wanted) - set(found))]
    changed = [
        f"{k}: sha256 {found[k][:12]}, expected {wanted[k][:12]}"
        for k in sorted(wanted)
        if k in found and found[k] != wanted[k]
    ]
    return missing + changed


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
        json.dumps({"output": str(folder), "items": rows}, ensure_ascii=False), encoding="utf-8"
    )
    return release


@dataclass
class Published:
    location: str  # where the version lives
    live: str  # what the pointer names
    version: str
    previous: str | None
    files: int
    mirrors: list[str] = field(default_factory=list)  # the secondary's copy of the same version

    def to_json(self) -> dict:
        return self.__dict__.copy()


def pointer_doc(version: str, files: int, previous: str | None = None) -> dict:
    """What a pointer (`CURRENT` / `current.json`) holds: version, its folder, file count, when."""
    return {
        "version": version,
        "path": f"versions/{version}",
        "files": files,
        "previous": previous,  # what a rollback switches back to
        "switched_at": datetime.now(UTC).isoformat(),
    }


# -- the accepted release -----------------------------------------------------------------
def record_accepted(release: Path, record: Path) -> dict:
    """Writes the release's manifest beside it: what the production deployment must publish."""
    files = manifest(release)
    doc = {"folder": str(release), "files": files, "manifest_sha256": manifest_digest(files)}
    record.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return doc


def check_accepted(record: Path, expected_digest: str | None = None) -> dict:
    """The accepted release, unchanged since acceptance (else DeploymentError naming the files)."""
    try:
        doc = json.loads(record.read_text(encoding="utf-8"))
    except OSError:
        raise DeploymentError(
            f"{record}: no release passed user acceptance (deploy_to_test_environment did not run)"
        ) from None
    if expected_digest and expected_digest != doc["manifest_sha256"]:
        raise DeploymentError(f"{record}: manifest differs from the one deploy_to_test_environment returned")
    now = manifest(Path(doc["folder"]))
    if now != doc["files"]:
        changed = sorted(k for k in set(now) | set(doc["files"]) if now.get(k) != doc["files"].get(k))
        raise DeploymentError(
            f"{doc['folder']}: changed since user acceptance ({', '.join(changed[:10])}); nothing published"
        )
    return doc


# -- local folder ---------------------------------------------------------------------------
def pointer_local(target: Path) -> dict | None:
    try:
        return json.loads((target / "CURRENT").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def current_local(target: Path) -> str | None:
    try:
        return json.loads((target / "CURRENT").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


@contextmanager
def target_lock(target: Path) -> Iterator[None]:
    """An exclusive lock of a local target: two publishes (the Airflow `deployments` pool aside:
    admin commands, tests, other processes) never interleave their writes, switches and prunes."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".publish.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def publish_local(release: Path, target: Path, version: str, keep: int = 5) -> Published:
    """Publishes to one local target under its lock."""
    with target_lock(target):
        return _publish_local_locked(release, target, version, keep)


def _publish_local_locked(release: Path, target: Path, version: str, keep: int) -> Published:
    previous = current_local(target)
    files = write_local(release, target, version)
    switch_local(target, version, files, previous if previous != version else None)
    _prune_local(target, keep, version)
    return Published(str(target / "versions" / version), str(target / "current"), version, previous, files)


def write_local(release: Path, target: Path, version: str, wanted: dict[str, str] | None = None) -> int:
    """versions/<version> written via a staging folder and verified by checksum; the pointer untouched."""
    wanted = manifest(release) if wanted is None else wanted
    target.mkdir(parents=True, exist_ok=True)
    staging = target / "versions" / f".{version}.partial"
    final = target / "versions" / version
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(release, staging, symlinks=False)
    wrong = _differences(wanted, manifest(staging))
    if wrong:
        shutil.rmtree(staging, ignore_errors=True)
        raise DeploymentError(
            f"{final}: the copy does not read back as the release ({'; '.join(wrong[:5])}); "
            f"pointer left at {current_local(target)}"
        )
    files = len(wanted)
    previous = current_local(target)
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
    return files


def switch_local(target: Path, version: str, files: int, previous: str | None = None) -> None:
    """Both pointers replaced atomically (rename over the old one)."""
    link_tmp = target / ".current.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(Path("versions") / version, link_tmp)
    os.replace(link_tmp, target / "current")
    doc_tmp = target / ".CURRENT.tmp"
    doc_tmp.write_text(json.dumps(pointer_doc(version, files, previous), indent=1), encoding="utf-8")
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


def pointer_s3(client, bucket: str, prefix: str) -> dict | None:
    try:
        body = client.get_object(Bucket=bucket, Key=_key(prefix, "current.json"))["Body"].read()
        return json.loads(body)
    except client.exceptions.NoSuchKey:
        return None


def current_s3(client, bucket: str, prefix: str) -> str | None:
    try:
        body = client.get_object(Bucket=bucket, Key=_key(prefix, "current.json"))["Body"].read()
        return json.loads(body)["version"]
    except client.exceptions.NoSuchKey:
        return None


def download_s3_version(client, bucket: str, prefix: str, version: str, folder: Path) -> Path:
    """A deployed S3 version as a local folder (replaced when it exists), for promotion."""
    base = _key(prefix, "versions", version) + "/"
    if folder.exists():
        shutil.rmtree(folder)
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
        for obj in page.get("Contents", []):
            dst = folder / obj["Key"][len(base) :]
            dst.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, obj["Key"], str(dst))
            count += 1
    if not count:
        raise FileNotFoundError(f"s3://{bucket}/{base}: version {version} not found")
    return folder


def publish_s3(release: Path, client, bucket: str, prefix: str, version: str, keep: int = 5) -> Published:
    previous = current_s3(client, bucket, prefix)
    files = write_s3(release, client, bucket, prefix, version)
    switch_s3(client, bucket, prefix, version, files, previous if previous != version else None)
    _prune_s3(client, bucket, prefix, keep, version)
    return Published(
        f"s3://{bucket}/{_key(prefix, 'versions', version)}",
        f"s3://{bucket}/{_key(prefix, 'current.json')}",
        version,
        previous,
        files,
    )


def write_s3(
    release: Path, client, bucket: str, prefix: str, version: str, wanted: dict[str, str] | None = None
) -> int:
    """Uploads versions/<version>, then reads every object back and checks its sha256; no pointer."""
    base = _key(prefix, "versions", version)
    # a dangling link is listed too: it must fail the upload (as it fails a local copy), not vanish
    files = sorted(p for p in release.rglob("*") if p.is_file() or p.is_symlink())
    for path in files:
        client.upload_file(str(path), bucket, _key(base, path.relative_to(release).as_posix()))
    wanted = manifest(release) if wanted is None else wanted
    found: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base + "/"):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            found[obj["Key"][len(base) + 1 :]] = hashlib.sha256(body).hexdigest()
    wrong = _differences(wanted, found)
    if wrong:
        raise DeploymentError(
            f"s3://{bucket}/{base}: the upload does not read back as the release "
            f"({'; '.join(wrong[:5])}); pointer left at {current_s3(client, bucket, prefix)}"
        )
    return len(files)


def switch_s3(
    client, bucket: str, prefix: str, version: str, files: int, previous: str | None = None
) -> None:
    """current.json names the version (one PUT: S3 replaces an object atomically)."""
    client.put_object(
        Bucket=bucket,
        Key=_key(prefix, "current.json"),
        ContentType="application/json",
        Body=json.dumps(pointer_doc(version, files, previous), indent=1).encode(),
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
        s3_delete(client, bucket, s3_keys(client, bucket, _key(prefix, "versions", name) + "/"))


def s3_keys(client, bucket: str, prefix: str) -> list[str]:
    """Every object key under `prefix`, page by page."""
    found: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [o["Key"] for o in page.get("Contents", [])]
    return found


def s3_delete(client, bucket: str, keys: list[str]) -> None:
    """Deletes `keys`, 1,000 per request (the S3 limit)."""
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[start : start + 1000]]
        client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})


@dataclass
class Side:
    """One store of an environment (its primary or secondary target) as a deployment sees it."""

    target: Any  # a config Target
    resolve_path: Any  # PipelineConfig.path

    @cached_property
    def client(self):
        return s3_client(self.target)

    def current(self, create: bool = False) -> str | None:
        """The live version; `create` (a writer) makes a local root that does not exist yet."""
        if self.target.kind == "local":
            root = self.resolve_path(self.target.path)
            if create:
                root.mkdir(parents=True, exist_ok=True)
            if not os.access(root, os.R_OK | os.X_OK):  # the mount is gone: down, not empty
                raise DeploymentError(f"{root}: not reachable")
            return current_local(root)
        return current_s3(self.client, self.target.bucket, self.target.prefix)

    def write(self, release: Path, version: str, wanted: dict[str, str]) -> int:
        if self.target.kind == "local":
            return write_local(release, self.resolve_path(self.target.path), version, wanted)
        return write_s3(release, self.client, self.target.bucket, self.target.prefix, version, wanted)

    def switch(self, version: str, files: int, previous: str | None = None) -> None:
        if self.target.kind == "local":
            switch_local(self.resolve_path(self.target.path), version, files, previous)
        else:
            switch_s3(self.client, self.target.bucket, self.target.prefix, version, files, previous)

    def prune(self, keep: int, version: str) -> None:
        if self.target.kind == "local":
            _prune_local(self.resolve_path(self.target.path), keep, version)
        else:
            _prune_s3(self.client, self.target.bucket, self.target.prefix, keep, version)

    def location(self, version: str) -> tuple[str, str]:
        """(where the version lives, what the pointer is)."""
        if self.target.kind == "local":
            root = self.resolve_path(self.target.path)
            return str(root / "versions" / version), str(root / "current")
        bucket, prefix = self.target.bucket, self.target.prefix
        return (
            f"s3://{bucket}/{_key(prefix, 'versions', version)}",
            f"s3://{bucket}/{_key(prefix, 'current.json')}",
        )


def publish(
    release: Path,
    target,
    version: str,
    keep: int,
    resolve_path,
    secondary=None,
    wanted: dict[str, str] | None = None,
) -> Published:
    """Publishes to a config `Target` (local folder or S3 bucket), and to `secondary` when given.

    Both stores get the version and both copies are verified before either pointer moves; a failure
    on either (an unreachable endpoint is a transient error the task's retries handle) leaves both
    at the previous version. Idempotent, so a retry simply runs it again. The two pointer switches
    are two writes: should the second fail, the primary names the new version (held, verified, on
    both stores) and the retry switches the secondary too.

    `wanted`: the release's manifest when the caller holds it (the accepted release's, see
    record_accepted): every copy is checked against it instead of hashing the release again.
    """
    sides = [Side(target, resolve_path)] + ([Side(secondary, resolve_path)] if secondary else [])
    wanted = manifest(release) if wanted is None else wanted
    with ExitStack() as locks:  # every local store locked, in one order (no two publishes deadlock)
        roots = sorted({resolve_path(s.target.path) for s in sides if s.target.kind == "local"})
        for root in roots:
            locks.enter_context(target_lock(root))
        previous = sides[0].current(create=True)
        files = [side.write(release, version, wanted) for side in sides]
        for side in sides:
            side.switch(version, files[0], previous if previous != version else None)
        for side in sides:
            side.prune(keep, version)
    location, live = sides[0].location(version)
    mirrors = [side.location(version)[0] for side in sides[1:]]
    return Published(location, live, version, previous, files[0], mirrors)


def live_version(target, resolve_path, secondary=None) -> tuple[str | None, str]:
    """(the live version, which store answered: "primary" or "secondary").

    The secondary answers only when the primary cannot be reached (a connection error, a folder
    that is gone); a primary that answers "nothing deployed" is believed.
    """
    try:
        return Side(target, resolve_path).current(), "primary"
    except Exception as exc:
        if secondary is None or _permanent(exc):
            raise
        log.warning("primary store unreachable (%s); reading the live version from the secondary", exc)
        return Side(secondary, resolve_path).current(), "secondary"


def _permanent(exc: Exception) -> bool:
    """A configuration mistake, not an outage: no point asking the secondary."""
    from .config import ConfigError

    return isinstance(exc, ConfigError | ValueError | TypeError)


def rollback(target, resolve_path, version: str | None = None) -> Published:
    """Switches the target's pointer back to `version` (default: the one live before the current
    one), which must still be kept under versions/; nothing is copied."""
    if target.kind == "local":
        root = resolve_path(target.path)
        pointer = pointer_local(root) or {}
        version = version or pointer.get("previous")
        folder = root / "versions" / (version or "")
        if not version or not folder.is_dir():
            raise DeploymentError(
                f"{root}: no previous version to roll back to (pointer: {pointer or 'none'})"
            )
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        switch_local(root, version, files, pointer.get("version"))
        return Published(str(folder), str(root / "current"), version, pointer.get("version"), files)
    client = s3_client(target)
    pointer = pointer_s3(client, target.bucket, target.prefix) or {}
    version = version or pointer.get("previous")
    if not version or version not in s3_versions(client, target.bucket, target.prefix):
        raise DeploymentError(
            f"s3://{target.bucket}/{target.prefix}: no previous version to roll back to (pointer: {pointer or 'none'})"
        )
    base = _key(target.prefix, "versions", version) + "/"
    files = sum(
        len(page.get("Contents", []))
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=target.bucket, Prefix=base)
    )
    switch_s3(client, target.bucket, target.prefix, version, files, pointer.get("version"))
    return Published(
        f"s3://{target.bucket}/{base}",
        f"s3://{target.bucket}/{_key(target.prefix, 'current.json')}",
        version,
        pointer.get("version"),
        files,
    )
