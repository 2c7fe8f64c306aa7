"""Great Expectations' Data Docs page views with their Jinja templates compiled once per process.

GX's views make a new Jinja environment for every Data Docs build, so each build parses and
compiles the same page templates again: most of a build's time (measured: about three quarters of
each gate task's docs build on a 70,000-item run). These views are GX's own (same templates, same
pages) with one shared bytecode cache: Jinja keys it by template name and source checksum, so a
changed template is compiled anew. Named in the site's `site_section_builders` and
`site_index_builder` (GX's documented way to choose a view class) by quality_gates when it builds
the docs; imported only then (GX is heavy).
"""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for the life of the process."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored by Jinja when the source checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


class CachedPageView(DefaultJinjaPageView):
    """DefaultJinjaPageView whose templates come from COMPILED."""

    # GX passes the directories by the names it finds in this signature
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED


class CachedIndexPageView(DefaultJinjaIndexPageView):
    """DefaultJinjaIndexPageView whose templates come from COMPILED."""

    # GX passes the directories by the names it finds in this signature
    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED


def site_config(site: dict) -> dict:
    """A copy of a Data Docs site's configuration that renders with these views (a view the site
    names itself is kept)."""
    page = {"module_name": __name__, "class_name": CachedPageView.__name__}
    index = {"module_name": __name__, "class_name": CachedIndexPageView.__name__}
    sections: dict = {name: {"view": dict(page)} for name in ("expectations", "validations", "profiling")}
    for name, section in (site.get("site_section_builders") or {}).items():
        sections[name] = {**sections.get(name, {}), **section} if isinstance(section, dict) else section
    index_builder = {"class_name": "DefaultSiteIndexBuilder", "view": index}
    return {
        **site,
        "site_section_builders": sections,
        "site_index_builder": {**index_builder, **(site.get("site_index_builder") or {})},
    }
