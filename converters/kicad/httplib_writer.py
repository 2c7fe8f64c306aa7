"""Writes KiCad's `.kicad_httplib` (JSON): where KiCad finds a library's parts over HTTP.

KiCad reads it with HTTP_LIB_SETTINGS (common/http_lib/http_lib_settings.cpp): schema `meta.version`
1; `source.type` must be `REST_API` and `source.api_version` `v1` (KiCad refuses another version),
`source.root_url` must not be empty (KiCad appends `/` and the API version), `source.token` goes
into every request as `Authorization: Token <token>`, and `timeout_parts_seconds` /
`timeout_categories_seconds` say how long KiCad caches parts and category listings.
"""

from __future__ import annotations

import json
from pathlib import Path

API_VERSION = "v1"
TOKEN_PLACEHOLDER = "ask-the-library-team-for-a-token"


def kicad_httplib_text(
    name: str,
    description: str,
    root_url: str,
    token: str,
    timeout_parts_seconds: int = 30,
    timeout_categories_seconds: int = 600,
) -> str:
    if not root_url:
        raise ValueError(f"{name}: an HTTP library needs a root URL")
    document = {
        "meta": {"version": 1},
        "name": name,
        "description": description,
        "source": {
            "type": "REST_API",
            "api_version": API_VERSION,
            "root_url": root_url.rstrip("/"),
            "token": token,
            "timeout_parts_seconds": timeout_parts_seconds,
            "timeout_categories_seconds": timeout_categories_seconds,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_kicad_httplib(path: Path, **settings) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kicad_httplib_text(**settings), encoding="utf-8")
    return path
