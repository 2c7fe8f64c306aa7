"""Airflow settings for the DAG tests, fixed before Airflow is first imported.

Each test process gets its own AIRFLOW_HOME and its own scratch metadata database on the real
PostgreSQL (created by the `airflow_db` fixture, dropped at the end), so parallel workers and a
developer's own Airflow never see each other.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.scratch_databases import PG_SERVER

REPO = Path(__file__).resolve().parents[2]
METADATA_DB = f"a2k_airflow_{os.getpid()}"

_home = Path(tempfile.mkdtemp(prefix="a2k-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"{PG_SERVER}/{METADATA_DB}"
os.environ["AIRFLOW__CORE__AUTH_MANAGER"] = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)
os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = "reviewer:admin"
os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(_home / "passwords.json")
os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "altium2kicad-tests-only"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
