"""The guide's `knowledge_sharing` section: the catalogue a deployment writes, the wiki it
updates and the training materials the reports link. Kept beside the code that acts on it (include.config imports it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from include.config_base import Section, Target

Format = Literal["html", "pdf"]
BESIDE_VERSION: Literal["beside_version"] = "beside_version"


class Documentation(Section):
    enabled: bool = True  # false: deployments write no catalogue
    formats: list[Format] = ["html", "pdf"]
    # beside_version: <library root>/catalogue/<version>/ in the environment's own store (a
    # sibling of versions/, outside the release's manifest); or a target of its own, where each
    # environment gets <target>/<environment>/<version>/
    publish_location: Literal["beside_version"] | Target = BESIDE_VERSION
    # more items than this: the PDF lists them without pictures (about 40 ms a picture); HTML has all
    pdf_pictures_up_to: int = Field(5000, ge=0)

    @model_validator(mode="after")
    def _some_format(self) -> Documentation:
        if self.enabled and not self.formats:
            raise ValueError("formats: name html, pdf or both (or set enabled: false)")
        return self


class Wiki(Section):
    auto_update: bool = False  # true: every catalogue's summary pages are PUT to the wiki
    conn_id: str | None = None  # Airflow http connection: host (+schema, port), password as bearer token
    url: str | None = None  # or the endpoint itself (no credentials)
    space: str = "KICAD"
    page_prefix: str = "kicad-library-"
    timeout_seconds: float = Field(10, gt=0)  # per page; a slow or failing wiki never fails a deployment

    @model_validator(mode="after")
    def _endpoint(self) -> Wiki:
        if self.auto_update and not (self.conn_id or self.url):
            raise ValueError("auto_update needs conn_id or url (the wiki's endpoint)")
        return self


class Training(Section):
    """The walkthroughs newcomers are pointed to (include/training.py): the weekly progress e-mail
    links every required module."""

    # a folder (relative: to the project) holding <module>.md, or the URL where the team publishes them
    materials_path: str = "docs/training"
    required_modules: list[str] = ["basic-migration", "advanced-mapping", "quality-assurance"]


class KnowledgeSharing(Section):
    documentation: Documentation = Documentation()
    wiki: Wiki = Wiki()
    training: Training = Training()
