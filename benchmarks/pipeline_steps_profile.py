#!/usr/bin/env python3
"""The full_library_migration steps on a big SQL DbLib, one after the other in one process, as
`dag.test()` runs them: CPU and wall time per step, and a cProfile file per step.

Complements sql_dblib_benchmark.py (the DAG end to end against the command line): on a shared
machine a step's CPU time says what the pipeline itself costs, and the profiles say where. The
steps run through `task_policy.run_step` (its garbage-collector settings included) on the same
fixture DbLib over PostgreSQL, library database on PostgreSQL, no Airflow scheduler.
    .venv/bin/python benchmarks/pipeline_steps_profile.py --profiles /tmp/profiles
    .venv/bin/python -m pstats /tmp/profiles/analyze_source_library.prof
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONN_ID = "altium_parts_profile"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=70_000)
    parser.add_argument("--tables", type=int, default=168)
    parser.add_argument("--profiles", type=Path, default=None, help="write <step>.prof files here")
    parser.add_argument(
        "--home", type=Path, default=None, help="keep everything here (default: a temp folder)"
    )
    args = parser.parse_args(argv)

    from converters.fixtures.sql_dblib_writer import write_sql_dblib
    from tests.scratch_databases import create_database, drop_database

    home = args.home or Path(tempfile.mkdtemp(prefix="a2k-steps-"))
    names = [f"a2k_prof_parts_{uuid.uuid4().hex[:8]}", f"a2k_prof_lib_{uuid.uuid4().hex[:8]}"]
    parts_url, library_db_url = (create_database("postgresql", n) for n in names)
    try:
        made = write_sql_dblib(home / "source", parts_url, args.parts, args.tables)
        os.environ["ALTIUM2KICAD_HOME"] = str(home)
        os.environ["ALTIUM2KICAD_DB_URL"] = library_db_url
        os.environ.pop("ALTIUM2KICAD_KICAD_CLI", None)
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = parts_url.replace(
            "postgresql+psycopg2://", "postgresql://"
        )
        figures = run_steps(made.path, args.profiles)
    finally:
        for n in names:
            drop_database("postgresql", n)
    total_cpu = sum(c for c, _ in figures.values())
    for step, (cpu, wall) in figures.items():
        print(f"[steps]   {step:30s} {cpu:6.1f}s CPU {wall:6.1f}s wall")
    print(f"[steps] RESULT parts={made.rows} total={total_cpu:.1f}s CPU load={os.getloadavg()[0]:.1f}")
    return 0


def run_steps(dblib: Path, profiles: Path | None) -> dict[str, tuple[float, float]]:
    # what a dag.test() process holds before its first task: Airflow and its connection look-up
    # (the parts source resolves through it), not charged to the first step
    from airflow.sdk import Connection

    from include import pipeline
    from include.config import DEFAULT_CONFIG, PartsSource, load_config
    from include.task_policy import run_step

    Connection.get(CONN_ID)

    config = load_config(DEFAULT_CONFIG).model_copy(deep=True)
    config.parts_sources = [PartsSource(data_source="localPostgres", conn_id=CONN_ID)]
    rc = pipeline.RunContext(
        f"manual__{uuid.uuid4().hex[:6]}",
        "full_library_migration",
        {"source": str(dblib), "environment": "development", "sample_size": 1},
        config,
        "profiler",
    )
    figures: dict[str, tuple[float, float]] = {}
    if profiles:
        profiles.mkdir(parents=True, exist_ok=True)

    def step(name: str, fn, *args, **kwargs):
        profile = cProfile.Profile() if profiles else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        try:
            return run_step(fn, *args, **kwargs, rc=rc)
        finally:
            if profile:
                profile.disable()
                profile.dump_stats(str(profiles / f"{name}.prof"))
            figures[name] = (time.process_time() - cpu, time.perf_counter() - wall)
            print(f"[steps] {name}: {figures[name][0]:.1f}s CPU", flush=True)

    units = step("analyze_source_library", pipeline.analyze_source_library)
    rules = step("create_mapping_rules", pipeline.create_mapping_rules, units)
    criteria = step("setup_validation_criteria", pipeline.setup_validation_criteria, units)
    step("run_test_migration", pipeline.run_test_migration, units, rules)
    converted = [step("run_full_migration", pipeline.run_full_migration, u, rules) for u in units]
    for kind in ("symbols", "footprints", "models"):
        step(f"validate_{kind}", pipeline.validate, kind, converted, criteria)
    step("validate_migration", pipeline.validate_migration, converted, criteria)
    step("deploy_to_test_environment", pipeline.deploy, converted, "test")
    step("deploy_to_production", pipeline.deploy, converted, "production")
    return figures


if __name__ == "__main__":
    sys.exit(main())
