"""The FastAPI app the plugin mounts: KiCad's HTTP library per environment, and part edits.

    GET   {prefix}/{environment}/{library}/v1/                         endpoints (KiCad checks them)
    GET   {prefix}/{environment}/{library}/v1/categories.json
    GET   {prefix}/{environment}/{library}/v1/parts/category/{id}.json
    GET   {prefix}/{environment}/{library}/v1/parts/{id}.json
    PATCH {prefix}/{environment}/{library}/v1/parts/{id}.json          edit (If-Match: version)
    POST/DELETE {prefix}/{environment}/{library}/v1/parts/{id}/lock     explicit lock

`library` is a deployed `.kicad_dbl`'s nickname; `root_url` in its `.kicad_httplib` is
`{http_library.base_url}{prefix}/{environment}/{library}`. Reads need the environment's token as
KiCad sends it (`Authorization: Token <token>`, compared in constant time), and query the
database read-only (a replica when configured). Edits need an Airflow user who may run the
migration DAG (the same identity and decision as Airflow's REST API).
"""

from __future__ import annotations

import hmac
import threading
from pathlib import Path

from fastapi import Depends, FastAPI, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse

PREFIX = "/altium2kicad-parts"
EDITOR_DAG_ID = "full_library_migration"  # who may run it may edit its parts
_catalogs: dict[tuple, object] = {}


class NotServed(LookupError):
    """The environment or library cannot be served (status: the HTTP answer; message says why)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


_catalog_lock = threading.Lock()


def current_config():
    """The configuration as it is now (re-read when the file changes), for every request."""
    from include.config import load_config

    return load_config()


def _deployed_dbl(environment: str, library: str) -> Path:
    config = current_config()
    if not config.http_library.enabled:
        raise NotServed(status.HTTP_404_NOT_FOUND, "the HTTP library is switched off (http_library.enabled)")
    if environment not in config.environments:
        raise NotServed(
            status.HTTP_404_NOT_FOUND,
            f"no environment '{environment}' (known: {', '.join(sorted(config.environments))})",
        )
    target = config.environments[environment].target
    if target.kind != "local":
        raise NotServed(
            status.HTTP_501_NOT_IMPLEMENTED,
            f"environment '{environment}' deploys to {target.kind}; only local deployments are served",
        )
    from .parts_catalog import live_dbls

    dbls = live_dbls(config.path(target.path))
    if library not in dbls:
        raise NotServed(
            status.HTTP_404_NOT_FOUND,
            f"environment '{environment}' has no deployed parts library '{library}' "
            f"(deployed: {', '.join(dbls) or 'none'})",
        )
    return dbls[library]


def catalog(environment: str, library: str, *, writable: bool = False):
    """The PartsCatalog of the live version (a new deployment gives a new catalog)."""
    from .engines import read_engine, shared_engine
    from .kicad_dbl import KicadDblError, database_url, read_kicad_dbl
    from .parts_catalog import PartsCatalog

    path = _deployed_dbl(environment, library).resolve()
    config = current_config()
    key = (str(path), path.stat().st_mtime_ns, writable)
    with _catalog_lock:
        if key not in _catalogs:
            try:
                dbl = read_kicad_dbl(path)
                url = database_url(dbl)
            except KicadDblError as exc:
                raise NotServed(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc)) from None
            scaling = config.database.scaling
            engine = (
                shared_engine(url, scaling, isolation_level=_isolation(config, url))
                if writable
                else read_engine(url, scaling)
            )
            _catalogs[key] = PartsCatalog(dbl, engine)
        return _catalogs[key]


def forget_catalogs() -> None:
    """Drops the cached catalogs (their reflected tables), e.g. after the layout changed."""
    with _catalog_lock:
        _catalogs.clear()


def _isolation(config, url: str) -> str | None:
    """concurrency.transaction_isolation as SQLAlchemy names it; SQLite has only SERIALIZABLE
    (stricter than any level asked for), so it keeps its own."""
    if url.startswith("sqlite"):
        return None
    return config.concurrency.transaction_isolation.upper().replace("_", " ")


def expected_token(environment: str) -> str | None:
    from include.connections import ConnectionUnusable, get_connection

    conn_id = current_config().http_library.conn_id(environment)
    try:
        conn = get_connection(conn_id)
    except ConnectionUnusable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return (conn.password or None) if conn is not None else None


def requires_token(environment: str, authorization: str | None = Header(default=None)) -> None:
    """KiCad's `Authorization: Token <token>` for the environment (401 when missing or wrong)."""
    if environment not in current_config().environments:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no environment '{environment}'")
    expected = expected_token(environment)
    if not expected:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no token configured for environment '{environment}' (Airflow connection "
            f"'{current_config().http_library.conn_id(environment)}', its password)",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "token" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong token (send 'Authorization: Token <token>')",
            headers={"WWW-Authenticate": "Token"},
        )


async def editor(request: Request) -> str:
    """The Airflow user (401 without a login) who may run the migration DAG (403 otherwise)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    user = await get_user(request, None, await bearer_scheme(request))
    allowed = get_auth_manager().is_authorized_dag(
        method="PUT", access_entity=DagAccessEntity.RUN, details=DagDetails(id=EDITOR_DAG_ID), user=user
    )
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"editing parts needs edit access to {EDITOR_DAG_ID}")
    return user.get_name()


def create_app() -> FastAPI:
    from .parts_catalog import UnknownId

    app = FastAPI(title="altium2kicad KiCad HTTP library")
    read = [Depends(requires_token)]

    from .part_edits import EditError, add_edit_routes

    @app.exception_handler(UnknownId)
    async def _unknown(_request: Request, exc: UnknownId):
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(NotServed)
    async def _not_served(_request: Request, exc: NotServed):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(EditError)
    async def _refused(_request: Request, exc: EditError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/{environment}/{library}/v1/", dependencies=read)
    def endpoints(environment: str, library: str, request: Request) -> dict:
        catalog(environment, library)  # 404 now, not at the first category
        base = str(request.url).split("?")[0]
        return {"categories": base + "categories.json", "parts": base + "parts"}

    @app.get("/{environment}/{library}/v1/categories.json", dependencies=read)
    def categories(environment: str, library: str) -> list[dict]:
        return catalog(environment, library).categories()

    @app.get("/{environment}/{library}/v1/parts/category/{category_id}.json", dependencies=read)
    def parts(environment: str, library: str, category_id: str) -> list[dict]:
        return catalog(environment, library).parts(category_id)

    @app.get("/{environment}/{library}/v1/parts/{part_id}.json", dependencies=read)
    def part(environment: str, library: str, part_id: str) -> JSONResponse:
        document, version = catalog(environment, library).part(part_id)
        # the row's version for editors (If-Match); KiCad ignores the header
        return JSONResponse(document, headers={"ETag": f'"{version}"'})

    add_edit_routes(app)
    from .rules_edits import add_rules_routes

    add_rules_routes(app)
    return app
