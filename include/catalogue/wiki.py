"""The catalogue's summary pages on a wiki, over plain HTTP.

One page for the version (counts, libraries) and one per library (its items, their values, Altium
origins, approximations and 3D models), each PUT as JSON to `<endpoint>/<space>/<page>`; the
endpoint is `knowledge_sharing.wiki.url` or the host of the Airflow http connection `conn_id`
(its password, when set, sent as a bearer token). A wiki that is down or refuses a page is logged
and reported; it never fails the deployment that triggered it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .facts import CatalogueLibrary, VersionFacts
from .settings import Wiki

log = logging.getLogger(__name__)


@dataclass
class WikiPage:
    name: str  # the page's name in the space (URL path segment)
    title: str
    body: str  # HTML


def summary_pages(settings: Wiki, facts: VersionFacts, link: str = "") -> list[WikiPage]:
    """The version's summary page, then one page per library."""
    from .pages import environment

    template = environment().get_template("wiki_page.html")
    base = f"{settings.page_prefix}{facts.environment}"

    def render(title: str, lib: CatalogueLibrary | None) -> str:
        return template.render(title=title, facts=facts, counts=facts.counts(), lib=lib, link=link)

    title = f"KiCad library ({facts.environment})"
    pages = [WikiPage(base, title, render(title, None))]
    for lib in facts.libraries:
        title = f"KiCad {lib.kind} library {lib.name} ({facts.environment})"
        pages.append(WikiPage(f"{base}-{lib.slug}", title, render(title, lib)))
    return pages


def endpoint(settings: Wiki) -> tuple[str, str | None]:
    """(base URL, bearer token or None): the configured URL, else the Airflow connection's host."""
    if settings.url:
        return settings.url.rstrip("/"), None
    from ..connections import http_connection

    assert settings.conn_id is not None  # Wiki's validator requires url or conn_id
    base, conn = http_connection(settings.conn_id, "knowledge_sharing.wiki.conn_id", "the wiki's URL")
    return base.rstrip("/"), conn.password or None


def put_page(base: str, token: str | None, space: str, page: WikiPage, version: str, timeout: float) -> int:
    """PUT one page; the HTTP status (raises on a refusal, a timeout or no answer)."""
    url = f"{base}/{urllib.parse.quote(space)}/{urllib.parse.quote(page.name)}"
    body = json.dumps(
        {"title": page.title, "space": space, "version": version, "format": "html", "body": page.body}
    ).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
        return response.status


def publish_summary(settings: Wiki, facts: VersionFacts, link: str = "") -> dict:
    """Every summary page sent; {"sent": [...], "failed": [...]} (logged, never raised)."""
    try:
        base, token = endpoint(settings)
    except Exception as exc:
        log.warning("wiki not updated: %s", exc)
        return {"sent": [], "failed": [f"endpoint: {exc}"]}
    sent, failed = [], []
    for page in summary_pages(settings, facts, link):
        try:
            put_page(base, token, settings.space, page, facts.version, settings.timeout_seconds)
            sent.append(page.name)
        except (OSError, urllib.error.URLError, ValueError) as exc:  # HTTPError, timeouts included
            log.warning("wiki page %s not updated at %s: %s", page.name, base, exc)
            failed.append(f"{page.name}: {exc}")
    log.info("wiki %s/%s: %d page(s) updated, %d failed", base, settings.space, len(sent), len(failed))
    return {"sent": sent, "failed": failed}
