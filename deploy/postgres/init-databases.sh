#!/bin/bash
# Runs once, when PostgreSQL initialises an empty volume (docker-entrypoint-initdb.d), as the server's
# superuser. Two least-privilege roles, each owning one database and unable to reach the other:
# `airflow` (Airflow's metadata and Celery results) and `altium2kicad` (the library database).
# Neither is a superuser; only this script and the postgres service know the superuser's password.
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
: "${LIBRARY_DB_PASSWORD:?LIBRARY_DB_PASSWORD is not set}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v library_pw="$LIBRARY_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE ROLE altium2kicad LOGIN PASSWORD :'library_pw' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE altium2kicad OWNER altium2kicad;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE altium2kicad FROM PUBLIC;
SQL
