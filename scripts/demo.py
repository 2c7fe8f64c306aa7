"""`./run demo`: the full_library_migration DAG end to end on the embedded default.

Embedded default: SQLite for Airflow and the library database, local folders for everything,
no services to install. The source is the sample library the project writes itself. The two
approvals are real Airflow human-in-the-loop tasks: an api-server is started on a free localhost
port and, because the demo's own configuration says `approvals.auto_approve: true`, a reviewer
answers them through the REST API. With `--review` the demo waits for you to answer them in the
Airflow UI instead.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "full_library_migration"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(home: Path, auto_approve: bool, port: int) -> Path:
    """Folders, the demo's configuration and Airflow's environment (before Airflow is imported)."""
    import yaml

    home.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((REPO / "config" / "altium2kicad.yaml").read_text(encoding="utf-8"))
    config["approvals"]["auto_approve"] = auto_approve  # the only place approvals are answered for you
    config_path = home / "altium2kicad-demo.yaml"
    config_path.write_text(
        "# written by scripts/demo.py from config/altium2kicad.yaml\n"
        + yaml.safe_dump(config, sort_keys=False),
        encoding="utf-8",
    )
    airflow_home = home / "airflow"
    airflow_home.mkdir(exist_ok=True)
    passwords = airflow_home / "passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({"reviewer": secrets.token_urlsafe(12)}))
    secret = airflow_home / "jwt_secret"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(32))
    os.environ.update(
        {
            "ALTIUM2KICAD_CONFIG": str(config_path),
            "ALTIUM2KICAD_HOME": str(home),
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "reviewer:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API_AUTH__JWT_SECRET": secret.read_text(),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "GX_ANALYTICS_ENABLED": "False",
        }
    )
    if not os.environ.get("ALTIUM2KICAD_KICAD_CLI"):
        kicad = (
            Path(os.environ.get("ALTIUM2KICAD_SHARED", REPO.parent / "shared"))
            / "tools"
            / "kicad"
            / "kicad-cli"
        )
        if kicad.exists():
            os.environ["ALTIUM2KICAD_KICAD_CLI"] = str(kicad)
    return passwords


def run_conf(source: Path, environment: str, mapping_rules: Path | None) -> dict:
    """The DAG run's params: the sample, the environment, and an edited rules file when given."""
    conf: dict = {"source": str(source), "environment": environment, "sample_size": 2}
    if mapping_rules is not None:
        if not mapping_rules.is_file():
            raise SystemExit(f"--mapping-rules {mapping_rules}: no such file")
        conf["mapping_rules"] = str(mapping_rules.resolve())
    return conf


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home", type=Path, default=REPO / "var" / "demo", help="where the demo keeps everything"
    )
    parser.add_argument(
        "--review", action="store_true", help="answer the approvals yourself in the Airflow UI"
    )
    parser.add_argument(
        "--environment",
        default="development",
        help="the run's target environment (its validation level: development basic, testing full, "
        "production strict)",
    )
    parser.add_argument(
        "--mapping-rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="an edited mapping-rules YAML for the run (docs/training/advanced-mapping.md)",
    )
    args = parser.parse_args(argv)
    port = _free_port()
    passwords = prepare(args.home, auto_approve=not args.review, port=port)

    from converters.fixtures.dblib_writer import write_sample_dblib
    from converters.fixtures.sample_library import write_sample_library
    from include.airflow_api import Reviewer, api_server_for_dag_test, migrate_metadata_db
    from include.config import load_config

    config = load_config()
    config.environment(args.environment)  # an unknown name stops here, naming the known ones
    source = args.home / "sample-library"
    # a database library over the sample (Excel parts table): the path most companies migrate
    files = write_sample_library(source) + [write_sample_dblib(source)]
    say(f"sample library: {', '.join(p.name for p in files)} in {source}")

    say("preparing Airflow's metadata database (SQLite)")
    migrate = migrate_metadata_db()
    if migrate.returncode != 0:
        print(migrate.stderr[-3000:], file=sys.stderr)
        return 1
    from include.workflow.concurrency import ensure_pools

    ensure_pools()  # the deploy tasks' pool, as the stack's init step creates it
    user = "reviewer"
    password = json.loads(passwords.read_text())[user]
    reviewer = None
    with (
        (args.home / "airflow" / "api-server.log").open("w") as log,
        api_server_for_dag_test(port, log, user, password) as api,
    ):
        say(f"Airflow UI: http://127.0.0.1:{port} (user {user}, password in {passwords})")
        if config.approvals.auto_approve:
            say(
                "approvals.auto_approve is true in the demo's configuration: a reviewer answers over the REST API"
            )
            reviewer = Reviewer(api, DAG_ID).start()
        else:
            say("answer 'review_test_results' and 'user_acceptance_testing' under Required Actions in the UI")
        try:
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(dag_folder=str(REPO / "dags"))
            if bag.import_errors:
                print(bag.import_errors, file=sys.stderr)
                return 1
            started = time.monotonic()
            run = bag.dags[DAG_ID].test(run_conf=run_conf(source, args.environment, args.mapping_rules))
            seconds = time.monotonic() - started
        finally:
            if reviewer:
                reviewer.stop()

    from include.library_db.store import LibraryStore

    store = LibraryStore(config.library_db_url())
    record = store.run(run.run_id)
    metrics = {name: m.value for name, m in store.metrics(run.run_id).items()}
    live = config.path(config.environment(args.environment).target.path) / "current"
    say(
        f"run {run.run_id}: {run.state} in {seconds:.0f}s; items {store.status_counts(run.run_id)}; metrics {metrics}"
    )
    for answer in reviewer.answered if reviewer else []:
        say(f"approved {answer['task_id']} as {answer['responded_by']['name']}")
    say(f"library (live version): {live.resolve() if live.exists() else 'not deployed'}")
    say(f"report: {record.report_path if record else 'none'}")
    from sqlalchemy.engine import make_url

    say(f"library database: {make_url(config.library_db_url()).render_as_string(hide_password=True)}")
    return 0 if str(run.state) == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
