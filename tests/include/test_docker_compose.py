"""docker-compose.yaml is valid for Debian's docker-compose and refuses to start without secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "POSTGRES_PASSWORD": "p",
    "AIRFLOW_JWT_SECRET": "j",
    "AIRFLOW_ADMIN_PASSWORD": "a",
    "AIRFLOW_REVIEWER_PASSWORD": "r",
}


@pytest.fixture
def compose():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose not installed (./run setup installs it)")
    return tool


def test_config_is_valid_with_secrets_from_env(compose):
    env = {**os.environ, **SECRETS}
    out = subprocess.run([compose, "config", "-q"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load((REPO / "docker-compose.yaml").read_text())["services"]
    assert {
        "postgres",
        "redis",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(services)


def test_missing_secret_is_refused(compose):
    env = {k: v for k, v in {**os.environ, **SECRETS}.items() if k != "POSTGRES_PASSWORD"}
    out = subprocess.run([compose, "config", "-q"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "POSTGRES_PASSWORD" in out.stderr
