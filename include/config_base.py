"""The building blocks every configuration section shares (kept apart so the sections of other
packages, such as include/sync/settings.py, can use them without importing include.config)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class Section(BaseModel):
    """Unknown keys are errors: a typo must stop the run, not be ignored."""

    model_config = ConfigDict(extra="forbid")


class Target(Section):
    kind: Literal["local", "s3"] = "local"
    path: str | None = None
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    aws_conn_id: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if self.kind == "local" and not self.path:
            raise ValueError("a local target needs 'path'")
        if self.kind == "s3" and not self.bucket:
            raise ValueError("an s3 target needs 'bucket'")
        return self
