# altium2kicad on Apache Airflow's own image, at the version requirements.txt pins.
# Built once by docker-compose.yaml (`docker-compose build`); nothing is installed at container start.
FROM apache/airflow:3.3.2-python3.11

USER root
# mdbtools reads Access parts tables; unixODBC with the SQLite, PostgreSQL and MariaDB drivers reads
# SQL parts tables and checks what we write the way KiCad reads it.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      mdbtools unixodbc libsqliteodbc odbc-postgresql odbc-mariadb postgresql-client \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

USER airflow
# Our pins, held to Airflow's resolved set (constraints.txt); the test-only tail of requirements.txt
# ("# Tests" onwards) stays out of the image.
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/altium2kicad/
RUN sed '/^# Tests/,$d' /tmp/altium2kicad/requirements.txt > /tmp/altium2kicad/runtime.txt \
 && pip install --no-cache-dir -r /tmp/altium2kicad/runtime.txt -c /tmp/altium2kicad/constraints.txt

# The project itself, importable from /opt/altium2kicad (expectations/ and config/ beside the code).
COPY --chown=airflow:0 pyproject.toml README.md /opt/altium2kicad/
COPY --chown=airflow:0 converters /opt/altium2kicad/converters
COPY --chown=airflow:0 include /opt/altium2kicad/include
COPY --chown=airflow:0 dags /opt/altium2kicad/dags
COPY --chown=airflow:0 plugins /opt/altium2kicad/plugins
COPY --chown=airflow:0 expectations /opt/altium2kicad/expectations
COPY --chown=airflow:0 config /opt/altium2kicad/config
COPY --chown=airflow:0 templates /opt/altium2kicad/templates
ENV PYTHONPATH=/opt/altium2kicad \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/altium2kicad/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/altium2kicad/plugins \
    ALTIUM2KICAD_CONFIG=/opt/altium2kicad/config/altium2kicad.yaml \
    GX_ANALYTICS_ENABLED=false
