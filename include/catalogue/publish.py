"""Writing a version's catalogue to its store, beside the version, when the version is deployed.

Where: `knowledge_sharing.documentation.publish_location: beside_version` puts it at
`<library root>/catalogue/<version>/` of each store the environment deploys to (local folder or S3
prefix), a sibling of `versions/`: the version folder itself holds exactly the accepted release
files, so its sha256 manifest (what acceptance saw, what promotion compares) never sees the
catalogue. An explicit target instead gets `<target>/<environment>/<version>/`. A catalogue whose
version is no longer kept (backup.keep_versions pruned it) is removed with it.

A catalogue is documentation: failing to build or store it is logged and reported in the
deployment's result, never a failed deployment (the library is already live by then).
"""

from __future__ import annotations

import logging
import mimetypes
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..config_base import Target
from ..deployment import s3_client, s3_delete, s3_keys, s3_versions
from .facts import VersionFacts, read_version
from .settings import BESIDE_VERSION

log = logging.getLogger(__name__)
CATALOGUE_FOLDER = "catalogue"  # beside versions/ in the library root
PDF_NAME = "catalogue.pdf"


def build(
    folder: Path,
    version: str,
    environment: str,
    out: Path,
    formats: list[str],
    pictures_up_to: int | None = None,
) -> VersionFacts:
    """The catalogue of a version folder, written to `out` in the configured formats."""
    from .pages import write_html
    from .pdf import write_pdf

    facts = read_version(folder, version, environment)
    out.mkdir(parents=True, exist_ok=True)
    if "pdf" in formats:
        write_pdf(facts, out / PDF_NAME, pictures_up_to)
    if "html" in formats:
        write_html(facts, out, PDF_NAME if "pdf" in formats else None)
    return facts


@dataclass
class CatalogueStore:
    """Where one environment's catalogues live: a target plus the folder (key prefix) inside it."""

    target: Target
    base: str  # relative to the target: "catalogue" beside versions/, or the environment's name
    resolve_path: Any  # PipelineConfig.path

    @cached_property
    def client(self):
        return s3_client(self.target)

    @property
    def bucket(self) -> str:
        assert self.target.bucket is not None  # an S3 Target requires it
        return self.target.bucket

    def _root(self) -> Path:
        assert self.target.path is not None  # a local Target requires it
        return self.resolve_path(self.target.path) / self.base

    def _prefix(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.target.prefix, self.base, *parts) if p.strip("/"))

    def location(self, version: str, entry: str = "index.html") -> str:
        if self.target.kind == "local":
            return str(self._root() / version / entry)
        return f"s3://{self.target.bucket}/{self._prefix(version, entry)}"

    def write(self, out: Path, version: str) -> int:
        """Replaces the version's catalogue with the files of `out`; the number of files."""
        files = sorted(p for p in out.rglob("*") if p.is_file())
        if self.target.kind == "local":
            root = self._root()
            root.mkdir(parents=True, exist_ok=True)
            staging, final = root / f".{version}.partial", root / version
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(out, staging)
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
            return len(files)
        base = self._prefix(version)
        keys = set()
        for path in files:
            key = f"{base}/{path.relative_to(out).as_posix()}"
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self.client.upload_file(str(path), self.target.bucket, key, ExtraArgs={"ContentType": kind})
            keys.add(key)
        stale = [k for k in self._keys(base + "/") if k not in keys]  # left by an earlier build
        s3_delete(self.client, self.bucket, stale)
        return len(files)

    def _keys(self, prefix: str) -> list[str]:
        return s3_keys(self.client, self.bucket, prefix)

    def versions(self) -> set[str]:
        if self.target.kind == "local":
            root = self._root()
            return (
                {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
                if root.is_dir()
                else set()
            )
        base = self._prefix() + "/"
        return {k[len(base) :].split("/", 1)[0] for k in self._keys(base)}

    def remove(self, version: str) -> None:
        if self.target.kind == "local":
            shutil.rmtree(self._root() / version, ignore_errors=True)
        else:
            s3_delete(self.client, self.bucket, self._keys(self._prefix(version) + "/"))


def stores(config, environment: str) -> list[CatalogueStore]:
    """Beside the version: each store the environment deploys to; else the configured target."""
    location = config.knowledge_sharing.documentation.publish_location
    env = config.environment(environment)
    if location == BESIDE_VERSION:
        targets = [env.target] + ([env.secondary_target] if env.secondary_target else [])
        return [CatalogueStore(t, CATALOGUE_FOLDER, config.path) for t in targets]
    return [CatalogueStore(location, environment, config.path)]


def deployed_versions(config, environment: str) -> set[str]:
    """The versions the environment's primary store still keeps (its versions/ folder)."""
    target = config.environment(environment).target
    if target.kind == "local":
        folder = config.path(target.path) / "versions"
        if not folder.is_dir():
            return set()
        return {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return set(s3_versions(s3_client(target), target.bucket, target.prefix))


def write_catalogue(config, environment: str, version: str, folder: Path) -> dict:
    """The deployment hook: builds the catalogue of the deployed `folder`, stores it beside the
    version, prunes catalogues of pruned versions and updates the wiki. Never raises."""
    settings = config.knowledge_sharing
    doc = settings.documentation
    if not doc.enabled and not settings.wiki.auto_update:
        return {"enabled": False}
    result: dict[str, Any]
    try:
        if not doc.enabled:  # the wiki's summary pages only, with no catalogue to link to
            facts, result = read_version(folder, version, environment), {"enabled": False}
        else:
            facts, result = _store_catalogue(config, environment, version, folder)
    except Exception as exc:  # documentation must never undo a deployment that is already live
        log.exception("catalogue of %s (%s) not written", version, environment)
        return {"error": f"{type(exc).__name__}: {exc}"}
    if settings.wiki.auto_update:
        from .wiki import publish_summary

        try:
            result["wiki"] = publish_summary(settings.wiki, facts, str(result.get("location", "")))
        except Exception as exc:  # publish_summary reports HTTP failures itself; this is the rest
            log.exception("wiki not updated for %s (%s)", version, environment)
            result["wiki"] = {"sent": [], "failed": [f"{type(exc).__name__}: {exc}"]}
    return result


def _store_catalogue(config, environment: str, version: str, folder: Path) -> tuple[VersionFacts, dict]:
    doc = config.knowledge_sharing.documentation
    with tempfile.TemporaryDirectory(prefix="catalogue-") as scratch:
        out = Path(scratch) / version
        facts = build(folder, version, environment, out, doc.formats, doc.pdf_pictures_up_to)
        targets = stores(config, environment)
        files = [store.write(out, version) for store in targets]
        kept = deployed_versions(config, environment) | {version}
        for store in targets:
            for old in store.versions() - kept:
                store.remove(old)
    entry = "index.html" if "html" in doc.formats else PDF_NAME  # what a reader opens first
    result: dict = {
        "location": targets[0].location(version, entry),
        "mirrors": [s.location(version, entry) for s in targets[1:]],
        "files": files[0],
        "formats": list(doc.formats),
        **facts.counts(),
    }
    log.info("catalogue of %s (%s): %s", version, environment, result["location"])
    return facts, result
