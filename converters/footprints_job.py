"""Converts one footprint library: read the PcbLib, write `<nick>.pretty/` and its 3D models.

Layout: `OUT/footprints/<nick>.pretty/<Footprint>.kicad_mod`, models in
`OUT/3dmodels/<nick>.3dshapes/<model>.step`, referenced as
`${ALTIUM2KICAD_3DMODELS}/<nick>.3dshapes/<model>.step` (or embedded in the footprint with
`--embed-3d`, KiCad 9). A model in a format KiCad cannot load (a SolidWorks part...) is kept in
that folder but referenced from no footprint, with a warning naming its format. One report row per footprint and per model; a footprint whose conversion
raises becomes a failed row and the others are still written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .model.footprint import GENERIC_BODY_TYPES, ComponentBody, EmbeddedModel, FootprintLibrary
from .model.model_files import ModelFormat, model_format
from .naming import UniqueNames, safe_file_name, safe_footprint_name
from .report import ItemReport
from .run import ConversionRun, ConvertedLibrary, unique_item_names

MODELS_VARIABLE = "ALTIUM2KICAD_3DMODELS"


def convert_pcblib(run: ConversionRun, path: Path) -> ConvertedLibrary:
    from .altium.pcblib import PcbLibError, read_pcblib

    try:
        library = read_pcblib(path)
    except (PcbLibError, OSError) as exc:
        run.fail_library(path, "library", str(exc))
        return ConvertedLibrary(path, "footprints", "", path)
    return write_footprint_library(run, library, path, path.stem)


class ModelStore:
    """Writes each distinct model of a library once (de-duplicated by content). Every model is
    extracted, also one KiCad cannot load (the user may convert it); `format_of` says which."""

    def __init__(self, run: ConversionRun, nick: str, source: Path) -> None:
        self.run, self.nick, self.source = run, nick, source
        self.folder = run.out / "3dmodels" / f"{nick}.3dshapes"
        self.by_hash: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.formats: dict[str, ModelFormat] = {}  # by file name
        self.names = UniqueNames()
        self.bodies: dict[str, tuple[EmbeddedModel | None, list[str]]] = {}  # by bodies_key
        _remove_files(self.folder)

    def format_of(self, file_name: str) -> ModelFormat:
        return self.formats[file_name]

    def file_for(self, model: EmbeddedModel) -> str:
        """The model's file name, writing it on first use."""
        if model.id in self.by_id:
            return self.by_id[model.id]
        digest = hashlib.sha256(model.data).hexdigest()
        if digest in self.by_hash:
            self.by_id[model.id] = self.by_hash[digest]
            return self.by_hash[digest]
        found = model_format(model.data, model.name)
        stem = safe_file_name(Path(model.name).stem if Path(model.name).suffix else model.name)
        stem, _ = self.names.claim(stem)
        file_name = stem + found.suffix
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / file_name).write_bytes(model.data)
        where = f"{self.nick}.3dshapes/{file_name}"
        if found.is_step:
            messages = []
        elif found.kicad_loads:
            messages = [
                f"model '{model.name}' is {found.name}, not STEP: KiCad shows it; kept as {file_name}"
            ]
        else:
            messages = [
                f"model '{model.name}' is {found.name} ({found.suffix}), which KiCad cannot load: "
                f"kept as 3dmodels/{where} but not referenced from any footprint"
            ]
        self.run.report.add(ItemReport.from_warnings(str(self.source), model.name, "model", where, messages))
        self.by_hash[digest] = self.by_id[model.id] = file_name
        self.formats[file_name] = found
        return file_name


def _remove_files(folder: Path, pattern: str = "*") -> None:
    """Empties a library's own output folder, so a re-run never leaves footprints or models of an
    earlier run (renamed or deleted in the source) beside the new ones."""
    if folder.is_dir():
        for stale in folder.glob(pattern):
            if stale.is_file():
                stale.unlink()


def _model_links(
    run: ConversionRun,
    store: ModelStore,
    library: FootprintLibrary,
    bodies: list[ComponentBody],
    warnings: list[str],
    name: str = "bodies",
):
    from .kicad.embedded import embedded_file
    from .kicad.footprint_writer import ModelLink

    links: list = []
    files: dict[str, list] = {}  # embedded file name -> its (file ...) expression, once per footprint
    generic: list[int] = []  # indexes of the bodies Altium describes by their shape alone
    for body in bodies:
        label = body.model_name or body.identifier or body.model_id or "body"
        model = library.models.get(body.model_id)
        if model is None and body.model_type in GENERIC_BODY_TYPES:
            generic.append(len(links))  # its solid goes into the footprint's one bodies model below
            links.append(None)
            continue
        if model is None:
            where = (
                "linked to an external file" if not body.embedded else "embedded but missing from the library"
            )
            warnings.append(f"3D body '{label}' is {where}: no model written")
            links.append(None)
            continue
        file_name = store.file_for(model)
        found = store.format_of(file_name)
        if not found.kicad_loads:
            warnings.append(
                f"3D body '{label}': its model is {found.name} ({found.suffix}), which KiCad cannot "
                f"load: not referenced (the file is kept in 3dmodels/{store.nick}.3dshapes/{file_name})"
            )
            links.append(None)
            continue
        if run.options.embed_3d and run.options.kicad_version >= 9:
            links.append(ModelLink(f"kicad-embed://{file_name}"))
            if file_name not in files:
                files[file_name] = embedded_file(file_name, model.data)
        else:
            links.append(ModelLink(f"${{{MODELS_VARIABLE}}}/{store.nick}.3dshapes/{file_name}"))
    model = _generic_bodies_model(store, name, [bodies[i] for i in generic], warnings) if generic else None
    if model is not None:
        file_name = store.file_for(model)
        if run.options.embed_3d and run.options.kicad_version >= 9:
            links[generic[0]] = ModelLink(f"kicad-embed://{file_name}", in_footprint_frame=True)
            files.setdefault(file_name, embedded_file(file_name, model.data))
        else:
            path = f"${{{MODELS_VARIABLE}}}/{store.nick}.3dshapes/{file_name}"
            links[generic[0]] = ModelLink(path, in_footprint_frame=True)
    return links, list(files.values())


def _generic_bodies_model(
    store: ModelStore, name: str, bodies: list[ComponentBody], warnings: list[str]
) -> EmbeddedModel | None:
    """One STEP model with the solids of a footprint's generic 3D bodies (extruded outlines,
    cylinders, spheres), or None, saying why, when none could be built. Footprints of a library
    with the same bodies share one build and one file."""
    try:
        from .kicad.step_bodies import StepBodyError, bodies_key, bodies_step
    except ImportError as exc:  # the CAD kernel is optional: without it the bodies are only reported
        warnings.append(
            f"{len(bodies)} generic 3D bodies (extruded, cylinder, sphere) not built: the CAD kernel "
            f"OpenCascade is not installed ({exc}; pip install cadquery-ocp-novtk)"
        )
        return None
    key = bodies_key(bodies)
    if key not in store.bodies:
        try:
            built = bodies_step(bodies)
            store.bodies[key] = (
                EmbeddedModel(f"generic-bodies:{key}", f"{name}.step", built.data),
                built.warnings,
            )
        except StepBodyError as exc:
            store.bodies[key] = None, [f"generic 3D bodies not built: {exc}"]
    model, messages = store.bodies[key]
    warnings.extend(messages)
    return model


def write_footprint_library(
    run: ConversionRun, library: FootprintLibrary, source: Path, stem: str
) -> ConvertedLibrary:
    from .kicad.footprint_writer import FootprintWriter
    from .kicad.layers import LayerMapError, load_layer_map

    nick = run.claim_nickname("footprints", source, stem)
    folder = run.out / "footprints" / f"{nick}.pretty"
    folder.mkdir(parents=True, exist_ok=True)
    _remove_files(folder, "*.kicad_mod")
    converted = ConvertedLibrary(source, "footprints", nick, folder)
    try:
        layer_map = load_layer_map(run.options.layer_map)
    except LayerMapError as exc:
        run.fail_library(source, "library", str(exc))
        return converted
    writer = FootprintWriter(layer_map, run.options.kicad_version)
    store = ModelStore(run, nick, source)
    run.report_reader_problems(source, "footprint", nick, library.failures, library.warnings)
    for loss in library.losses:  # the file said it held more than any item accounts for
        run.fail_library(source, "library", loss)
    names = unique_item_names((fp.name for fp in library.footprints), safe_footprint_name)
    for fp, (kicad_name, renamed) in zip(library.footprints, names, strict=False):
        warnings = fp.warnings + renamed
        try:
            links, files = _model_links(run, store, library, fp.bodies, warnings, kicad_name)
            written = writer.write(fp, kicad_name, links, files)
            # KiCad names a footprint by its file, so the file is the name (naming.py made it one)
            (folder / f"{kicad_name}.kicad_mod").write_text(written.text, encoding="utf-8")
        except Exception as exc:  # a bug or odd footprint costs this footprint only
            run.fail_item(source, "footprint", fp.name, exc)
            continue
        converted.items[fp.name] = kicad_name
        if fp.storage and fp.storage != fp.name:
            converted.items.setdefault(fp.storage, kicad_name)
        run.report.add(
            ItemReport.from_warnings(
                str(source),
                fp.name,
                "footprint",
                f"{nick}:{kicad_name}",
                warnings + written.warnings,
                written.shape_pads,
            )
        )
    return converted
