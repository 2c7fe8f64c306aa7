"""Locust users of benchmarks/load_benchmark.py: what people use while migrations run.

Library managers list the runs and open migration reports (Airflow REST API and the plugin's
report endpoint, with a JWT from /auth/token); designers' KiCad reads the HTTP library (root,
categories, a category's parts, a part) with the environment's token. Everything they need comes
from the environment the benchmark sets (A2K_LOAD_*); no file is written.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, task

JWT = os.environ.get("A2K_LOAD_JWT", "")
DAG_ID = "full_library_migration"
REPORT_RUNS = json.loads(os.environ.get("A2K_LOAD_REPORT_RUNS", "[]"))  # folder names of finished runs
HTTPLIB = os.environ.get("A2K_LOAD_HTTPLIB_ROOT", "")  # /altium2kicad-parts/<env>/<library>/v1
HTTPLIB_TOKEN = os.environ.get("A2K_LOAD_HTTPLIB_TOKEN", "")
CATEGORIES = json.loads(os.environ.get("A2K_LOAD_CATEGORIES", "[]"))
PARTS = json.loads(os.environ.get("A2K_LOAD_PARTS", "[]"))


class LibraryManager(HttpUser):
    """Watches the migrations: the run list, and a run's report."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Bearer {JWT}"

    @task(3)
    def run_list(self) -> None:
        self.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns?limit=50&order_by=-start_date", name="REST run list")

    @task(2)
    def report(self) -> None:
        run = random.choice(REPORT_RUNS)
        self.client.get(f"/altium2kicad/reports/{run}/index.html", name="migration report")


class Designer(HttpUser):
    """KiCad reading the HTTP library, as it does when a designer opens the symbol chooser."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {HTTPLIB_TOKEN}"
        self.client.headers["Accept"] = "application/json"

    @task(1)
    def root(self) -> None:
        self.client.get(f"{HTTPLIB}/", name="httplib v1/")

    @task(2)
    def categories(self) -> None:
        self.client.get(f"{HTTPLIB}/categories.json", name="httplib categories.json")

    @task(3)
    def category_parts(self) -> None:
        self.client.get(
            f"{HTTPLIB}/parts/category/{random.choice(CATEGORIES)}.json", name="httplib parts/category/{id}"
        )

    @task(4)
    def part(self) -> None:
        self.client.get(f"{HTTPLIB}/parts/{random.choice(PARTS)}.json", name="httplib parts/{id}")
