"""The `.kicad_httplib` beside each deployed `.kicad_dbl`: the same parts over HTTP, per environment.

Written into a release before it is published (deployment and promotion), so the file a designer
opens names the environment it was deployed to: `root_url` is `http_library.base_url` + the
plugin's prefix + `/<environment>/<library>`. The token is the environment's own (Airflow
connection `http_library.token_conn_id`) only with `token_in_file: true`; otherwise a placeholder
the designer replaces, so a library folder copied around carries no secret.
"""

from __future__ import annotations

import logging
from pathlib import Path

from converters.kicad.httplib_writer import TOKEN_PLACEHOLDER, write_kicad_httplib

log = logging.getLogger(__name__)
PREFIX = "/altium2kicad-parts"  # the plugin mounts include.sites.http_library here


def root_url(base_url: str, environment: str, library: str) -> str:
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}{PREFIX}/{quote(environment, safe='')}/{quote(library, safe='')}"


def _token(config, environment: str) -> str:
    if not config.http_library.token_in_file:
        return TOKEN_PLACEHOLDER
    from include.connections import get_connection

    conn_id = config.http_library.conn_id(environment)
    conn = get_connection(conn_id)
    if conn is None or not conn.password:
        raise ValueError(
            f"http_library.token_in_file is true but Airflow connection '{conn_id}' holds no token "
            f"for environment '{environment}'"
        )
    return conn.password


def write_httplib_files(release: Path, config, environment: str) -> list[Path]:
    """One `.kicad_httplib` per `.kicad_dbl` under `release/database` (none when switched off)."""
    settings = config.http_library
    dbls = sorted((release / "database").glob("*.kicad_dbl"))
    if not settings.enabled or not dbls:
        return []
    if config.environment(environment).target.kind != "local":
        # the plugin serves local deployments only: a file naming a URL that answers 501 helps nobody
        log.info(
            "%s deploys to %s: no .kicad_httplib written",
            environment,
            config.environment(environment).target.kind,
        )
        return []
    token = _token(config, environment)
    written = []
    for dbl in dbls:
        written.append(
            write_kicad_httplib(
                dbl.with_suffix(".kicad_httplib"),
                name=f"{dbl.stem} ({environment})",
                description=f"{dbl.stem} parts of the {environment} library, over HTTP",
                root_url=root_url(settings.base_url, environment, dbl.stem),
                token=token,
                timeout_parts_seconds=settings.timeout_parts_seconds,
                timeout_categories_seconds=settings.timeout_categories_seconds,
            )
        )
    log.info("wrote %d .kicad_httplib for %s", len(written), environment)
    return written
