"""A site's state and backup vault, as the configuration names them."""

from __future__ import annotations

from include.config import PipelineConfig, config_path
from include.operations.backup import SiteSources, Vault
from include.operations.sealing import load_key
from include.operations.stores import open_store


def site_sources(cfg: PipelineConfig) -> SiteSources:
    """Library database, configuration folder, and every local deployment target."""
    trees = {"config": config_path().parent}
    for name, env in sorted(cfg.environments.items()):
        if env.target.kind == "local" and env.target.path:  # a local target has a path (validated)
            trees[f"deploy/{name}"] = cfg.path(env.target.path)
    return SiteSources({"library_db": cfg.library_db_url()}, trees)


def site_vault(cfg: PipelineConfig) -> Vault:
    """The backup vault: both configured stores, encrypted with the configured key."""
    b = cfg.backup
    return Vault(
        [
            open_store(cfg.backup_target("primary"), cfg.path),
            open_store(cfg.backup_target("secondary"), cfg.path),
        ],
        load_key(b.key_env, b.key_conn_id),
    )


def retention(vault: Vault, keep: dict[str, int]) -> list[str]:
    """Deletes sets beyond `keep` per kind, never the newest verified chain; then unreferenced objects."""
    from include.operations.backup import chain

    ids = vault.set_ids()
    kinds = {i: i.rsplit("-", 1)[1] for i in ids}
    verified = [i for i in ids if vault.verified(i)]
    protected = set(chain(vault, verified[-1])) if verified else set()
    doomed = []
    for kind, count in keep.items():
        of_kind = [i for i in ids if kinds[i] == kind]
        doomed += [i for i in of_kind[: max(0, len(of_kind) - count)] if i not in protected]
    kept = [i for i in ids if i not in doomed]
    referenced = set()
    for i in kept:
        m = vault.manifest(i)
        referenced |= {d["object"] for d in m["databases"].values()}
        referenced |= {d["base_backup"]["object"] for d in m["databases"].values() if "base_backup" in d}
        referenced |= {f["sha256"] for t in m["trees"].values() for f in t["files"].values()}
    for store in vault.stores:
        for i in doomed:
            for key in store.list(f"sets/{i}/"):
                store.delete(key)
        for key in store.list("objects/"):
            if key.split("/", 1)[1] not in referenced:
                store.delete(key)
    return doomed
