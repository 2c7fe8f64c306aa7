"""A converted item's report row as the library database stores it, for tests that seed runs."""

from __future__ import annotations


def item_row(lib: str, item: str, status: str, messages: list[str] | None = None) -> dict:
    return {
        "source": lib,
        "item": item,
        "kind": "symbol",
        "target": "",
        "status": status,
        "messages": messages or [],
    }
