"""One real deployment of the sample library (conversion, test deployment) shared by the catalogue
tests, with the wiki pointed at a local HTTP server that records what it received."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from include.config import DEFAULT_CONFIG, PipelineConfig, parse_config


@dataclass
class WikiServer:
    """A wiki endpoint on localhost: every PUT recorded (path, headers, JSON body); `status` answers."""

    status: int = 201
    received: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        wiki = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                wiki.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                self.send_response(wiki.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/pages"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pages(self) -> dict[str, dict]:
        return {r["path"]: r["body"] for r in self.received}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_with(**knowledge_sharing) -> PipelineConfig:
    """The default configuration with `knowledge_sharing` sections replaced."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for key, value in knowledge_sharing.items():
        data["knowledge_sharing"][key] = value
    return parse_config(yaml.safe_dump(data), DEFAULT_CONFIG)


@dataclass
class Deployed:
    home: Path
    result: dict  # pipeline.deploy's answer
    wiki: WikiServer

    @property
    def root(self) -> Path:
        return self.home / "var" / "altium2kicad" / "deploy" / "testing"

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue" / self.result["version"]


@pytest.fixture(scope="session")
def wiki_server():
    server = WikiServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def deployed(tmp_path_factory, wiki_server) -> Deployed:
    """The sample library converted and deployed to testing, the wiki at the local server."""
    from converters.fixtures.sample_library import write_sample_library
    from include import pipeline

    home = tmp_path_factory.mktemp("catalogue")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALTIUM2KICAD_HOME", str(home))
        mp.delenv("ALTIUM2KICAD_DB_URL", raising=False)
        mp.delenv("ALTIUM2KICAD_KICAD_CLI", raising=False)
        write_sample_library(home / "src")
        config = config_with(wiki={"auto_update": True, "url": wiki_server.url, "space": "KICAD"})
        rc = pipeline.RunContext(
            "manual__catalogue",
            "full_library_migration",
            {"source": str(home / "src"), "environment": "development", "sample_size": 1},
            config,
            "tester",
        )
        units = pipeline.analyze_source_library(rc)
        rules = pipeline.create_mapping_rules(units, rc)
        converted = [pipeline.run_full_migration(u, rules, rc) for u in units]
        result = pipeline.deploy(converted, "test", rc)
    return Deployed(home, result, wiki_server)
