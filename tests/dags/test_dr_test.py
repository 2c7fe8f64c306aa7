"""dr_test end to end with dag.test(): a site whose library database is a WAL-archiving PostgreSQL
cluster of the test's own, backed up to a local primary and an S3 (moto) secondary store by the
backup DAGs; the DR test restores it into scratch targets, measures RTO and RPO, stores the result,
writes its report, and removes the scratch targets. A missed objective fails the run by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.archived_cluster import archived_cluster, moto_s3

from .conftest import METADATA_DB, _create_db, _drop_db

pytestmark = [pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def metadata_db():
    """A scratch metadata database, migrated (dag.test() needs one; no api-server)."""
    from include.airflow_api import migrate_metadata_db

    _create_db(METADATA_DB)  # skips only when no PostgreSQL listens
    migrate = migrate_metadata_db()
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    yield
    _drop_db(METADATA_DB)  # releases the pooled connections first; the ORM stays configured


def _insert(url: str, *names: str) -> None:
    eng = create_engine(url)
    with eng.begin() as conn:
        for name in names:
            conn.execute(text("INSERT INTO part (name) VALUES (:n)"), {"n": name})
    eng.dispose()


def _write_config(path: Path, config: dict, **business_continuity) -> None:
    config["business_continuity"].update(business_continuity)
    path.write_text(yaml.safe_dump(config))


def _results(cfg) -> list[dict]:
    from include.operations.dr_test import previous_results
    from include.operations.site import site_vault

    return previous_results(site_vault(cfg))


def test_dr_test_measures_rto_and_rpo(metadata_db, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from include.config import load_config
    from include.operations.dr_test import evaluate
    from include.operations.sealing import new_key
    from include.operations.site import site_vault

    with moto_s3("dr-backups") as endpoint, archived_cluster() as src:
        config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text())
        config["backup"]["primary"] = {"kind": "local", "path": str(tmp_path / "primary")}
        config["backup"]["secondary"] = {
            "kind": "s3",
            "bucket": "dr-backups",
            "prefix": tmp_path.name,
            "endpoint_url": endpoint,
        }
        config["backup"]["transaction_logs"]["spool"] = str(src.spool)
        config_file = tmp_path / "config" / "altium2kicad.yaml"
        config_file.parent.mkdir()
        _write_config(config_file, config)
        home = tmp_path / "home"
        library = home / "var/altium2kicad/deploy/production/symbols/Lib.kicad_sym"
        library.parent.mkdir(parents=True)
        library.write_text("(kicad_symbol_lib (version 20231120))")
        monkeypatch.setenv("ALTIUM2KICAD_CONFIG", str(config_file))
        monkeypatch.setenv("ALTIUM2KICAD_HOME", str(home))
        monkeypatch.setenv("ALTIUM2KICAD_DB_URL", src.url())
        monkeypatch.setenv("ALTIUM2KICAD_BACKUP_KEY", new_key())
        eng = create_engine(src.url())
        with eng.begin() as conn:
            conn.execute(text("CREATE TABLE part (id serial primary key, name text)"))
        eng.dispose()
        _insert(src.url(), "R1", "R2")

        bag = DagBag(dag_folder=str(REPO / "dags"))
        assert not bag.import_errors
        # the backup DAGs' task functions, called directly (one dag.test() costs half a minute of
        # Airflow start-up): they read the stores, the key and backup.transaction_logs.spool from
        # the configuration
        full = bag.dags["backup_full"].get_task("full_backup").python_callable()
        _insert(src.url(), "R3-in-archived-wal")
        ship = bag.dags["backup_transaction_logs"].get_task("ship_transaction_logs").python_callable
        logs = ship()
        assert logs["shipped_from_spool"] and not list(src.spool.iterdir())
        _insert(src.url(), "R4-never-archived")  # the disaster strikes before the next hourly run
        run = bag.dags["dr_test"].test()
        assert str(run.state) == "success"
        cfg = load_config()
        [result] = _results(cfg)
        print("dr_test measured:", {k: result[k] for k in ("rto_seconds", "rpo_seconds")}, result["steps"])
        steps = result["steps"]
        # point in time: the WAL shipped after the full backup was replayed, the unarchived row lost
        assert steps["database_recovery"]["method"] == "point_in_time"
        assert steps["database_recovery"]["set_id"] == full["set_id"]
        assert steps["database_recovery"]["tables"]["part"]["rows"] == 3
        assert steps["data_integrity"]["tables_lost_changes"] == ["part"]
        assert 0 < result["rpo_seconds"] < 3600 and 0 < result["rto_seconds"] < 4 * 3600
        assert result["passed"] and steps["site_failover"]["store"].startswith("s3://dr-backups/")
        written = (cfg.report_dir / "dr_tests" / f"dr_test-{result['test_id']}.md").read_text()
        assert f"| RTO (time to restore) | {result['rto_seconds']:.1f} s | 4 h | none |" in written
        assert f"| RPO (changes lost) | {result['rpo_seconds']:.1f} s | 1 h | none |" in written
        assert not Path(result["scratch"]).exists()

        # a damaged backup: the restores fail, the run fails naming them, the scratch targets are
        # removed all the same (teardown), and the report compares with the first test
        vault = site_vault(cfg)
        base = vault.manifest(full["set_id"])["databases"]["library_db"]["base_backup"]["object"]
        for store in vault.stores:
            sealed = bytearray(store.get(f"objects/{base}"))
            sealed[-1] ^= 1
            store.put(f"objects/{base}", bytes(sealed))
        run = bag.dags["dr_test"].test()
        assert str(run.state) == "failed"
        first, second = _results(load_config())
        assert not second["passed"] and second["rto_seconds"] is None
        assert {
            "database_recovery did not succeed (see its log)",
            "site_failover did not succeed (see its log)",
        } <= set(second["failures"])
        assert not Path(second["scratch"]).exists()
        report_text = (cfg.report_dir / "dr_tests" / f"dr_test-{second['test_id']}.md").read_text()
        assert f"Previous test: {first['test_id']} (passed)" in report_text and "## Failures" in report_text
        assert "| database_recovery | failed |" in report_text

        # an objective the site cannot meet is a failure that names the objective
        _write_config(config_file, config, rpo_hours=0.0001)
        missed = evaluate(load_config(), {"failure_point": first["failure_point"], "scratch": ""}, steps)
        assert not missed["passed"]
        assert re.fullmatch(
            r"RPO [\d.]+ s exceeds business_continuity.rpo_hours 0.0001 h", missed["failures"][0]
        )
