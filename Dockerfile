# altium2kicad on Apache Airflow's own image, at the version requirements.txt pins.
# Built once by docker-compose.yaml (`docker-compose build`); nothing is installed at container start.

# Build stage: python-ldap (FAB's LDAP login) has no wheel on PyPI, so it is compiled here, against
# OpenLDAP's and Cyrus SASL's headers, and only the wheel goes on: no compiler in the final image.
# Airflow's image carries the runtime libraries (libldap, libsasl2) the wheel links.
FROM apache/airflow:3.3.2-python3.11 AS wheels
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential libldap-dev libsasl2-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/altium2kicad/
RUN grep -E '^python-ldap==' /tmp/altium2kicad/requirements.txt > /tmp/altium2kicad/ldap.txt \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels \
      -r /tmp/altium2kicad/ldap.txt -c /tmp/altium2kicad/constraints.txt

FROM apache/airflow:3.3.2-python3.11

USER root
# mdbtools reads Access parts tables; unixODBC with the SQLite, PostgreSQL and MariaDB drivers reads
# SQL parts tables and checks what we write the way KiCad reads it. libcairo2: CairoSVG draws the
# library catalogue's PDF pictures (docs/catalogue.md).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      mdbtools unixodbc libsqliteodbc odbc-postgresql odbc-mariadb postgresql-client libcairo2 \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

USER airflow
# Our pins, held to Airflow's resolved set (constraints.txt); the test-only tail of requirements.txt
# ("# Tests" onwards) stays out of the image. python-ldap comes from the build stage's wheel.
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/altium2kicad/
COPY --from=wheels --chown=airflow:0 /tmp/wheels /tmp/wheels
RUN sed '/^# Tests/,$d' /tmp/altium2kicad/requirements.txt > /tmp/altium2kicad/runtime.txt \
 && pip install --no-cache-dir --find-links /tmp/wheels \
      -r /tmp/altium2kicad/runtime.txt -c /tmp/altium2kicad/constraints.txt \
 && python -c "import ldap, authlib" \
 && rm -rf /tmp/wheels

# The project itself, importable from /opt/altium2kicad (expectations/ and config/ beside the code).
COPY --chown=airflow:0 pyproject.toml README.md /opt/altium2kicad/
COPY --chown=airflow:0 converters /opt/altium2kicad/converters
COPY --chown=airflow:0 include /opt/altium2kicad/include
COPY --chown=airflow:0 dags /opt/altium2kicad/dags
COPY --chown=airflow:0 plugins /opt/altium2kicad/plugins
COPY --chown=airflow:0 expectations /opt/altium2kicad/expectations
COPY --chown=airflow:0 config /opt/altium2kicad/config
# FAB's webserver_config.py (AIRFLOW__FAB__CONFIG_FILE in docker-compose.yaml)
COPY --chown=airflow:0 deploy/webserver_config.py /opt/altium2kicad/deploy/webserver_config.py
COPY --chown=airflow:0 templates /opt/altium2kicad/templates
# the training walkthroughs the weekly report links (knowledge_sharing.training.materials_path)
COPY --chown=airflow:0 docs/training /opt/altium2kicad/docs/training
ENV PYTHONPATH=/opt/altium2kicad \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/altium2kicad/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/altium2kicad/plugins \
    ALTIUM2KICAD_CONFIG=/opt/altium2kicad/config/altium2kicad.yaml \
    GX_ANALYTICS_ENABLED=false
