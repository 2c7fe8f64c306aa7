#!/usr/bin/env python3
"""SQL DbLib at scale: the full_library_migration DAG against the command line on the same DbLib.

Writes a DbLib with the project's fixture writer (converters/fixtures/sql_dblib_writer.py) over a
scratch PostgreSQL database: PARTS parts in TABLES tables with names as long as PostgreSQL keeps,
every 50th row a duplicate key; its connection string names an ODBC data source
(`Provider=MSDASQL.1;...;Data Source=localPostgres;...`). Then:

- the command line: `altium2kicad convert X.DbLib -o OUT --database-url URL` (wall time);
- the DAG: `dag.test()` as `./run demo` runs it (api-server, a reviewer answering both approvals
  over REST), `parts_sources` mapping `localPostgres` to an Airflow connection (AIRFLOW_CONN_*),
  the library database on PostgreSQL; wall time, and the tasks' own durations from Airflow.

The clock runs around `dag.test()` alone: the metadata database's migration, the api-server's start
and dag.test()'s own in-process Execution API (include.airflow_api.warm_dag_test_api, built while
the api-server starts, as the demo does) come before it, as a deployment's servers are up before a
run. With --floor-parts N the same is first measured on an N-part DbLib of 2 tables, in a process
of its own: what any run costs (FIXED), and what the rest of the parts cost the DAG against the
command line (MARGINAL).

Prints the figures (docs/pipeline.md quotes them); checks the deployed parts database holds every
source row. A script, not a test: speed is measured here, never asserted in the suite.
    .venv/bin/python benchmarks/sql_dblib_benchmark.py --floor-parts 100   # 70,000 parts, 168 tables
    .venv/bin/python benchmarks/sql_dblib_benchmark.py --parts 5000 --tables 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONN_ID = "altium_parts_benchmark"


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_cli(dblib: Path, url: str, out: Path) -> float:
    started, cpu_started = time.perf_counter(), cpu(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "converters",
            "convert",
            str(dblib),
            "-o",
            str(out),
            "--database-url",
            url,
            "-q",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"command line failed ({proc.returncode}): {proc.stderr[-2000:]}")
    print(
        f"[bench] command line: {seconds:.1f}s wall, {cpu(resource.RUSAGE_CHILDREN) - cpu_started:.1f}s CPU"
        f" · {proc.stdout.strip().splitlines()[-1]}",
        flush=True,
    )
    return seconds


def deployed_rows(live: Path, name: str) -> int:
    dbl = json.loads((live / "database" / f"{name}.kicad_dbl").read_text(encoding="utf-8"))
    with sqlite3.connect(live / "database" / f"{name}.sqlite") as db:
        return sum(
            db.execute(f'SELECT count(*) FROM "{lib["table"]}"').fetchone()[0] for lib in dbl["libraries"]
        )


def run_dag(home: Path, dblib: Path, parts_url: str, library_db_url: str) -> dict:
    import yaml

    from scripts.demo import _free_port, prepare

    port = _free_port()
    passwords = prepare(home, auto_approve=True, port=port)
    config_path = Path(os.environ["ALTIUM2KICAD_CONFIG"])
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["parts_sources"] = [{"data_source": "localPostgres", "conn_id": CONN_ID}]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = parts_url.replace(
        "postgresql+psycopg2://", "postgresql://"
    )
    os.environ["ALTIUM2KICAD_DB_URL"] = library_db_url
    os.environ.pop("ALTIUM2KICAD_KICAD_CLI", None)  # the command line does not ask KiCad either
    from include.airflow_api import Reviewer, api_server_for_dag_test, migrate_metadata_db

    migrate = migrate_metadata_db()
    if migrate.returncode != 0:
        raise SystemExit(migrate.stderr[-3000:])
    password = json.loads(passwords.read_text())["reviewer"]
    with (
        (home / "airflow" / "api-server.log").open("w") as log,
        api_server_for_dag_test(port, log, "reviewer", password) as api,
    ):
        reviewer = Reviewer(api, "full_library_migration").start()
        from airflow.dag_processing.dagbag import DagBag

        dag = DagBag(dag_folder=str(REPO / "dags")).dags["full_library_migration"]
        started, cpu_started = time.perf_counter(), cpu(resource.RUSAGE_SELF)
        run = dag.test(run_conf={"source": str(dblib), "environment": "development", "sample_size": 1})
        seconds = time.perf_counter() - started
        print(
            f"[bench] DAG: {seconds:.1f}s wall, {cpu(resource.RUSAGE_SELF) - cpu_started:.1f}s CPU"
            " (dag.test's process; the api-server not counted)",
            flush=True,
        )
        reviewer.stop()
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as s:
        tis = list(s.scalars(select(TaskInstance).where(TaskInstance.run_id == run.run_id)))
        tasks = {
            t.task_id.split(".")[-1] + (f"[{t.map_index}]" if t.map_index >= 0 else ""): (
                (t.end_date - t.start_date).total_seconds() if t.start_date and t.end_date else 0.0,
                str(t.state),
            )
            for t in tis
        }
    from include.config import load_config
    from include.library_db.store import LibraryStore

    config = load_config()
    store = LibraryStore(config.library_db_url())
    live = config.path(config.environment("development").target.path) / "current"
    return {
        "state": str(run.state),
        "seconds": seconds,
        "tasks": tasks,
        "report": store.run(run.run_id).report_path if store.run(run.run_id) else "",
        "live": live,
        "items": store.status_counts(run.run_id),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=70_000)
    parser.add_argument("--tables", type=int, default=168)
    parser.add_argument(
        "--home", type=Path, default=None, help="keep everything here (default: a temp folder)"
    )
    parser.add_argument(
        "--floor-parts",
        type=int,
        default=0,
        metavar="N",
        help="first measure the same on an N-part DbLib (2 tables), in a process of its own: the "
        "fixed cost of a run, and the cost per part beyond it (the marginal ratio)",
    )
    parser.add_argument("--figures", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    floor = run_floor(args.floor_parts) if args.floor_parts else None

    from converters.fixtures.sql_dblib_writer import write_sql_dblib
    from tests.scratch_databases import create_database, drop_database

    home = args.home or Path(tempfile.mkdtemp(prefix="a2k-sql-bench-"))
    names = [f"a2k_bench_parts_{uuid.uuid4().hex[:8]}", f"a2k_bench_lib_{uuid.uuid4().hex[:8]}"]
    parts_url, library_db_url = (create_database("postgresql", n) for n in names)
    try:
        started = time.perf_counter()
        made = write_sql_dblib(home / "source", parts_url, args.parts, args.tables)
        print(
            f"[bench] {made.path.name}: {made.rows} parts in {len(made.tables)} tables "
            f"({made.duplicate_keys} duplicate keys) written in {time.perf_counter() - started:.1f}s",
            flush=True,
        )
        cli = run_cli(made.path, parts_url, home / "cli-out")
        dag = run_dag(home / "dag", made.path, parts_url, library_db_url)
    finally:
        for n in names:
            drop_database("postgresql", n)
    rows = deployed_rows(dag["live"], made.path.stem) if dag["state"] == "success" else 0
    approvals = sum(
        s
        for t, (s, _) in dag["tasks"].items()
        if t.split("[")[0] in ("review_test_results", "user_acceptance_testing")  # their mapped slots
    )
    print(
        f"[bench] DAG: {dag['state']} in {dag['seconds']:.1f}s (approvals answered in {approvals:.1f}s); items {dag['items']}"
    )
    for task, (seconds, state) in sorted(dag["tasks"].items(), key=lambda kv: -kv[1][0]):
        print(f"[bench]   {task:32s} {seconds:7.1f}s  {state}")
    print(f"[bench] deployed parts database: {rows} rows of {made.rows} source rows")
    print(f"[bench] report: {dag['report']}")
    in_tasks = sum(seconds for seconds, _ in dag["tasks"].values())
    print(
        f"[bench] DAG: {in_tasks:.1f}s in its tasks (approvals included), "
        f"{dag['seconds'] - in_tasks:.1f}s in dag.test()'s loop between them"
    )
    print(
        f"[bench] RESULT parts={made.rows} tables={len(made.tables)} cli={cli:.1f}s dag={dag['seconds']:.1f}s "
        f"ratio={dag['seconds'] / cli:.2f} (target <= 2.00)"
    )
    if floor:
        extra_parts = made.rows - floor["parts"]
        cli_per, dag_per = cli - floor["cli"], dag["seconds"] - floor["dag"]
        print(
            f"[bench] FIXED parts={floor['parts']} cli={floor['cli']:.1f}s dag={floor['dag']:.1f}s "
            f"(approvals {floor['approvals']:.1f}s)"
        )
        print(
            f"[bench] MARGINAL {extra_parts} more parts: cli +{cli_per:.1f}s dag +{dag_per:.1f}s "
            f"ratio={dag_per / cli_per:.2f}"
        )
    if args.figures:
        args.figures.write_text(
            json.dumps(
                {
                    "parts": made.rows,
                    "cli": cli,
                    "dag": dag["seconds"],
                    "approvals": approvals,
                    "tasks": {t: seconds for t, (seconds, _) in dag["tasks"].items()},
                }
            ),
            encoding="utf-8",
        )
    return 0 if dag["state"] == "success" and rows == made.rows else 1


def run_floor(parts: int) -> dict:
    """The benchmark on a `parts`-part DbLib of 2 tables, in a process of its own (Airflow's
    settings are per process): what a run costs however small its library."""
    with tempfile.TemporaryDirectory(prefix="a2k-sql-bench-floor-") as scratch:
        figures = Path(scratch) / "figures.json"
        proc = subprocess.run(
            [sys.executable, __file__, "--parts", str(parts), "--tables", "2", "--figures", str(figures)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not figures.is_file():
            raise SystemExit(f"the {parts}-part run failed ({proc.returncode}): {proc.stdout[-3000:]}")
        for line in proc.stdout.splitlines():
            if line.startswith("[bench] RESULT"):
                print(line.replace("[bench] RESULT", "[bench] FLOOR RESULT"), flush=True)
        return json.loads(figures.read_text(encoding="utf-8"))


if __name__ == "__main__":
    sys.exit(main())
