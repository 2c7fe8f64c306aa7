#!/usr/bin/env python3
"""Load benchmark: N migrations at once while M people use the system (issue 15, docs/load.md).

Starts the distributed stack natively (scheduler, dag-processor, triggerer, Celery workers,
api-server over PostgreSQL and Redis, as tests/integration/test_distributed.py does), on loopback
addresses only. Then:
1. one migration alone (the baseline, deployed to its own environment `parts`, whose HTTP library
   the users read);
2. N migrations of different corpus libraries triggered at once over the REST API, approvals
   answered over the API (include.airflow_api.Reviewer), while Locust (headless) drives M users
   over the run list, the migration reports and the KiCad HTTP library (benchmarks/load_users.py);
3. prints the time until all N succeeded against the baseline, p50/p95/p99 and errors per
   endpoint, CPU and memory per service process (psutil), and the library database's rows per run
   checked against the run's conversion reports (nothing lost, nothing duplicated).
Prints, never asserts. Every wait is bounded (--timeout), every loop by count or time.

    python benchmarks/load_benchmark.py --shared /work/shared                  # 10 runs, 50 users
    python benchmarks/load_benchmark.py --shared /work/shared --runs 3 --users 20
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DAG_ID = "full_library_migration"
AIRFLOW = [sys.executable, "-m", "airflow"]
REDIS_DB = 12
BASELINE = "ubc-thunderbots/libraries-v2.0/Fuse_Library.DbLib"
# ten different libraries that each pass the development gates alone (docs/load.md: the corpus
# PcbLibs and DbLibs left out stop at the pad-count gate, or their source gate, when run alone too)
LIBRARIES = [
    "ubc-thunderbots/libraries-v2.0/Diode_Library.DbLib",
    "ubc-thunderbots/libraries-v2.0/Inductor_Library.DbLib",
    "ubc-thunderbots/libraries-v2.0/Fuse_Library.DbLib",
    "altiumsharp/TestData/PCB - DIODES - DIODES INC SDT10A45P5.PCBLIB",
    "altiumsharp/TestData/SCH - MCU - STM32 - ST MICROELECTRONICS STM32U535CBUX UFQFPN48.SchLib",
    "altiumsharp/TestData/SCH - MCU - STM32 - ST MICROELECTRONICS STM32U535CBUXQ UFQFPN48.SchLib",
    "altium-monkey/examples/assets/schlib/SN74AHCT1G125DBVR.SchLib",
    "altium-monkey/examples/assets/schlib/DMP3130L-7.Schlib",
    "altium-monkey/examples/assets/schlib/FSM4JSMATR.Schlib",
    "pluots/altium/tests/samples/schlib/simple.SchLib",
]
HTTPLIB_TOKEN = "load-benchmark-" + uuid.uuid4().hex[:8]


def _config(path: Path, max_runs: int) -> None:
    """config/distributed.yaml with the limit under test and a local `parts` environment."""
    doc = yaml.safe_load((ROOT / "config/distributed.yaml").read_text())
    doc["deployment"]["max_concurrent_migrations"] = max_runs
    doc["environments"]["parts"] = {
        "validation_level": "basic",
        "target": {"kind": "local", "path": "var/altium2kicad/deploy/parts"},
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _env(root: Path, port: int, tag: str, metadata_db: str, library_db: str, config: Path) -> dict:
    from tests.scratch_databases import PG_SERVER

    pg = PG_SERVER.split("://", 1)[1]
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ALTIUM2KICAD"))},
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(root / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # only the migration DAG is unpaused (_dag_ready): backups, sync and monitoring would take
        # worker slots on their schedules and blur what is measured
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": "include.access.auth_manager.Altium2KicadAuthManager",
        "AIRFLOW__FAB__CONFIG_FILE": str(ROOT / "deploy" / "webserver_config.py"),
        "ALTIUM2KICAD_CONFIG": str(config),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{PG_SERVER}/{metadata_db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}/{metadata_db}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"a2k_{tag}",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "altium2kicad-load-" + tag,
        "AIRFLOW__API__SECRET_KEY": "altium2kicad-load-" + tag,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_ALTIUM2KICAD_HTTPLIB_PARTS": json.dumps(
            {"conn_type": "generic", "password": HTTPLIB_TOKEN}
        ),
        "ALTIUM2KICAD_HOME": str(root / "home"),
        "ALTIUM2KICAD_DB_URL": f"{PG_SERVER}/{library_db}",
        "GX_ANALYTICS_ENABLED": "False",
    }


class Sampler:
    """CPU and resident memory of each service (its process and children), every `every` seconds."""

    def __init__(self, services: dict[str, int], postgres_dbs: list[str], every: float = 2.0) -> None:
        self.services, self.dbs, self.every = services, postgres_dbs, every
        self.samples: dict[str, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._procs: dict[int, object] = {}

    def _trees(self) -> dict[str, list]:
        import psutil

        trees: dict[str, list] = {}
        for name, pid in self.services.items():
            try:
                root = psutil.Process(pid)
                trees[name] = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                trees[name] = []
        backends = []
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(p.info.get("cmdline") or [])
            if (p.info.get("name") or "").startswith("postgres") and any(db in cmd for db in self.dbs):
                backends.append(p)
        trees["postgresql (backends of this stack)"] = backends
        return trees

    def _loop(self) -> None:
        import psutil

        deadline = time.monotonic() + 6 * 3600
        while not self._stop.is_set() and time.monotonic() < deadline:
            for name, procs in self._trees().items():
                cpu = rss = 0.0
                for p in procs:
                    known = self._procs.setdefault(p.pid, p)
                    try:
                        cpu += known.cpu_percent(None)
                        rss += known.memory_info().rss
                    except psutil.Error:
                        continue
                self.samples.setdefault(name, []).append((cpu, rss / 2**20))
            self._stop.wait(self.every)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def table(self) -> list[str]:
        lines = ["| service | CPU % mean | CPU % max | RSS MiB mean | RSS MiB max |", "|---|---|---|---|---|"]
        for name, values in self.samples.items():
            values = values[1:] or values  # the first cpu_percent of a process is 0 by definition
            cpus, mems = [v[0] for v in values], [v[1] for v in values]
            lines.append(
                f"| {name} | {sum(cpus) / len(cpus):.0f} | {max(cpus):.0f} | "
                f"{sum(mems) / len(mems):.0f} | {max(mems):.0f} |"
            )
        return lines


def _trigger(api, source: Path, environment: str) -> str:
    conf = {"source": str(source), "environment": environment, "sample_size": 1}
    return api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})[
        "dag_run_id"
    ]


def _await_runs(api, run_ids: list[str], started: float, timeout: float) -> dict[str, tuple[str, float]]:
    """run id -> (final state, seconds from `started`), polling every 3 s until all end or timeout."""
    done: dict[str, tuple[str, float]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(run_ids) and time.monotonic() < deadline:
        for run_id in run_ids:
            if run_id in done:
                continue
            state = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                done[run_id] = (state, time.monotonic() - started)
        time.sleep(3)
    for run_id in run_ids:
        done.setdefault(run_id, ("timed out", timeout))
    return done


def _httplib_ids(base: str, root: str) -> tuple[list[str], list[str]]:
    """Category ids and up to 200 part ids of the served library (as KiCad would list them)."""
    import urllib.request

    def get(path: str):
        req = urllib.request.Request(base + root + path, headers={"Authorization": f"Token {HTTPLIB_TOKEN}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    categories = [c["id"] for c in get("/categories.json")]
    parts: list[str] = []
    for cid in categories[:20]:
        parts += [p["id"] for p in get(f"/parts/category/{cid}.json")][:50]
    return categories, parts[:200]


def _locust(base: str, users: int, seconds: int, csv_prefix: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(ROOT / "benchmarks/load_users.py"),
            "--headless",
        ]
        + ["-u", str(users), "-r", str(max(1, users // 10)), "-t", f"{seconds}s", "--host", base]
        + ["--csv", str(csv_prefix), "--only-summary", "--stop-timeout", "10"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(csv_prefix.parent / "locust.log").open("w"),
        start_new_session=True,
    )


def _latency_table(csv_prefix: Path) -> list[str]:
    lines = [
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
    ]
    stats = Path(f"{csv_prefix}_stats.csv")
    if not stats.is_file():
        log = (csv_prefix.parent / "locust.log").read_text(errors="replace")[-1500:]
        return [f"Locust wrote no statistics; its log ends:\n\n```\n{log}\n```"]
    with stats.open(newline="") as f:
        for row in csv.DictReader(f):
            lines.append(
                f"| {row['Name']} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} | "
                f"{row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} |"
            )
    failures = Path(f"{csv_prefix}_failures.csv")
    if failures.is_file():
        for row in list(csv.DictReader(failures.open()))[:10]:
            lines.append(f"| error: {row['Name']} | {row['Occurrences']} | {row['Error'][:120]} | | | | |")
    return lines


def _rows_check(home: Path, db_url: str, run_ids: list[str]) -> list[str]:
    """Each run's full-migration rows in the library database against its conversion reports."""
    from include.config import folder_name
    from include.conversion import report_rows
    from include.library_db.store import LibraryStore

    store = LibraryStore(db_url)
    lines = ["| run | rows in DB | distinct keys | items in the reports | check |", "|---|---|---|---|---|"]
    for run_id in run_ids:
        rows = store.converted_items(run_id, "full")
        keys = {(r.library, r.item, r.kind) for r in rows}
        reports = sorted(
            (home / "var/altium2kicad/runs" / folder_name(run_id) / "full").glob("*/report.json")
        )
        expected = {(r["source"], r["item"], r["kind"]) for rep in reports for r in report_rows(rep)}
        ok = len(rows) == len(keys) == len(expected) and keys == expected
        lines.append(
            f"| {run_id} | {len(rows)} | {len(keys)} | {len(expected)} | {'ok' if ok else 'MISMATCH'} |"
        )
    return lines


def _machine() -> str:
    import psutil

    return (
        f"{platform.node()}: {psutil.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, load average at start "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--shared", type=Path, default=Path(os.environ.get("ALTIUM2KICAD_SHARED", ROOT.parent / "shared"))
    )
    ap.add_argument("--runs", type=int, default=10, help="migrations triggered at once (at most 10)")
    ap.add_argument("--users", type=int, default=50, help="simulated users")
    ap.add_argument("--max-concurrent", type=int, default=10, help="deployment.max_concurrent_migrations")
    ap.add_argument("--workers", type=int, default=2, help="Celery workers")
    ap.add_argument("--worker-concurrency", type=int, default=2, help="task slots per worker")
    ap.add_argument("--api-workers", type=int, default=1, help="api-server worker processes")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the runs")
    ap.add_argument("--output", type=Path, help="also write the results (Markdown) here")
    args = ap.parse_args()

    from include.airflow_api import AirflowApi, Reviewer, wait_healthy
    from tests.integration.test_distributed import Cluster, _free_port, _redis_up, _wait
    from tests.scratch_databases import create_database, drop_database

    corpus = args.shared / "corpus"
    sources = [corpus / p for p in LIBRARIES[: args.runs]]
    missing = [str(p) for p in [corpus / BASELINE, *sources] if not p.exists()]
    if missing:
        print(f"skipped: corpus libraries absent: {', '.join(missing)}")
        return 0
    if not _redis_up():
        print("skipped: no Redis at 127.0.0.1:6379")
        return 0
    out: list[str] = [f"Machine: {_machine()}", ""]
    root = Path(tempfile.mkdtemp(prefix="a2k_load_"))
    tag = uuid.uuid4().hex[:10]
    metadata_db, library_db = f"a2k_load_af_{tag}", f"a2k_load_lib_{tag}"
    create_database("postgresql", metadata_db)
    create_database("postgresql", library_db)
    port = _free_port()
    config = root / "altium2kicad.yaml"
    _config(config, args.max_concurrent)
    env = _env(root, port, tag, metadata_db, library_db, config)
    password = "load-" + uuid.uuid4().hex[:8]
    nodes = Cluster(root, env)
    try:
        for step in (
            AIRFLOW + ["db", "migrate"],
            AIRFLOW + ["fab-db", "migrate"],
            [sys.executable, "-m", "include.access", "sync-roles"],
            [sys.executable, "-m", "include.workflow.concurrency"],
            AIRFLOW
            + ["users", "create", "--role", "Admin", "--username", "manager", "--password", password]
            + ["--email", "manager@example.com", "--firstname", "Li", "--lastname", "Brary"],
        ):
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
            if done.returncode != 0:
                raise RuntimeError(f"{step[2:]}: {done.stderr[-3000:]}")
        nodes.start(
            "api-server",
            ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.api_workers)],
        )
        nodes.start("scheduler", ["scheduler"])
        nodes.start("dag-processor", ["dag-processor"])
        nodes.start("triggerer", ["triggerer"])
        for n in range(args.workers):
            nodes.start(
                f"worker{n + 1}",
                ["celery", "worker", "-H", f"worker{n + 1}@{tag}", "-c", str(args.worker_concurrency)]
                + ["-q", f"a2k_{tag}", "--without-mingle"],
                {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port())},
            )
        base = f"http://127.0.0.1:{port}"
        api = AirflowApi(base, "manager", password)
        wait_healthy(api, 300)
        _wait("the DAG to be parsed", lambda: _dag_ready(api), 300, 2)
        reviewer = Reviewer(api, DAG_ID).start()
        try:
            # 1. one run alone
            started = time.monotonic()
            baseline = _trigger(api, corpus / BASELINE, "parts")
            alone = _await_runs(api, [baseline], started, args.timeout)[baseline]
            out.append(f"One run alone ({Path(BASELINE).name}): {alone[0]} in {alone[1]:.0f} s")
            if alone[0] != "success":
                raise RuntimeError(f"the baseline run {baseline} ended {alone[0]}: {nodes.tail()}")
            httplib_root = f"/altium2kicad-parts/parts/{Path(BASELINE).stem}/v1"
            categories, parts = _httplib_ids(base, httplib_root)
            from include.config import folder_name

            # 2. N runs at once, users at the same time
            services = {name: proc.pid for name, proc in nodes.procs.items()}
            sampler = Sampler(services, [metadata_db, library_db]).start()
            locust_env = {
                **env,
                "A2K_LOAD_JWT": api.token(),
                "A2K_LOAD_REPORT_RUNS": json.dumps([folder_name(baseline)]),
                "A2K_LOAD_HTTPLIB_ROOT": httplib_root,
                "A2K_LOAD_HTTPLIB_TOKEN": HTTPLIB_TOKEN,
                "A2K_LOAD_CATEGORIES": json.dumps(categories),
                "A2K_LOAD_PARTS": json.dumps(parts),
            }
            csv_prefix = root / "locust"
            users = _locust(base, args.users, args.timeout, csv_prefix, locust_env)
            started = time.monotonic()
            run_ids = [_trigger(api, s, "development") for s in sources]
            ended = _await_runs(api, run_ids, started, args.timeout)
            total = max(t for _, t in ended.values())
            users.terminate()  # SIGTERM: Locust stops its users and writes the CSV
            users.wait(timeout=120)
            sampler.stop()
        finally:
            reviewer.stop()
        ok = sum(1 for s, _ in ended.values() if s == "success")
        out += [
            f"{len(run_ids)} runs at once (max_concurrent_migrations {args.max_concurrent}, "
            f"{args.workers} workers x {args.worker_concurrency} slots, api-server workers "
            f"{args.api_workers}) with {args.users} users: {ok} succeeded; all ended after {total:.0f} s "
            f"({total / alone[1]:.1f} x one run alone)",
            "",
            "| run | library | state | seconds |",
            "|---|---|---|---|",
        ]
        for run_id, source in zip(run_ids, sources, strict=True):
            out.append(f"| {run_id} | {source.name} | {ended[run_id][0]} | {ended[run_id][1]:.0f} |")
        out += [
            "",
            f"Latency under load ({args.users} users, Locust headless):",
            "",
            *_latency_table(csv_prefix),
        ]
        out += ["", "Service processes over the concurrent phase (psutil, every 2 s):", "", *sampler.table()]
        out += ["", "Library database rows against the runs' reports:", ""]
        out += _rows_check(root / "home", env["ALTIUM2KICAD_DB_URL"], [baseline, *run_ids])
        out += [
            "",
            f"Approvals answered over the API: {len(reviewer.answered)}; reviewer errors: {len(reviewer.errors)}",
        ]
    finally:
        nodes.stop()
        from include.library_db.database import engine

        engine.cache_clear()
        drop_database("postgresql", metadata_db)
        drop_database("postgresql", library_db)
    text = "\n".join(out)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


def _dag_ready(api) -> bool:
    from include.airflow_api import ApiError

    try:
        if api.call("GET", f"/api/v2/dags/{DAG_ID}").get("is_paused", True):
            api.call("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        return not api.call("GET", f"/api/v2/dags/{DAG_ID}")["is_paused"]
    except ApiError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
