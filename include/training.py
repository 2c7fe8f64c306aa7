"""The training modules of `knowledge_sharing.training`: each required module's title and link.

A module is `<materials_path>/<module>.md`. A local folder (relative paths are the project's) is
checked: a required module that is not there is a configuration error naming the file, so nobody is
sent to a page that does not exist. A URL is where the team publishes the same files; its pages are
linked as they are, without fetching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from include.config import PROJECT_ROOT, ConfigError, PipelineConfig


@dataclass(frozen=True)
class Module:
    name: str  # e.g. basic-migration
    title: str  # the file's first heading (a URL's module: its name)
    link: str  # file path or URL


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return path.stem


def modules(config: PipelineConfig) -> list[Module]:
    """The required modules in configured order; ConfigError names a missing local one."""
    training = config.knowledge_sharing.training
    where = training.materials_path.strip()
    if "://" in where:
        base = where.rstrip("/")
        return [
            Module(m, m.replace("-", " ").capitalize(), f"{base}/{m}.md") for m in training.required_modules
        ]
    folder = Path(where).expanduser()
    folder = folder if folder.is_absolute() else PROJECT_ROOT / folder
    found = []
    for name in training.required_modules:
        path = folder / f"{name}.md"
        if not path.is_file():
            raise ConfigError(
                f"knowledge_sharing.training.required_modules: {name} has no file {path} "
                "(materials_path names the folder of <module>.md files)"
            )
        found.append(Module(name, _title(path), str(path)))
    return found
