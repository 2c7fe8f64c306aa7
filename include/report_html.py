"""The migration report QA opens: summary, metrics, gate results (with Data Docs) and every item
with its status, messages and a picture of what was written.

Built from the library database and the written files, so it can be re-rendered at any stage of
the run (each validation and deployment task does) and always shows the current state.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

from converters.kicad.sexpr_reader import SExprError, children, parse, value

from .config import folder_name
from .library_facts import WrittenLibraries
from .svg_render import (
    FOOTPRINT_PX_PER_MM,
    MAX_PX,
    MIN_PX,
    SYMBOL_PX_PER_MM,
    footprint_svg,
    symbol_svg,
    unit_count,
)

KICAD_FP_LAYERS = "F.Cu,B.Cu,F.SilkS,B.SilkS,F.Fab,F.CrtYd,Edge.Cuts"
KICAD_EXPORT_TIMEOUT = 300
_MM_WIDTH = re.compile(r'<svg[^>]*?\swidth="([0-9.]+)mm"', re.S)

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}
.ok{color:#176f2c}.warning{color:#a66a00}.failed{color:#b00020;font-weight:bold}.metric{display:inline-block;
margin:0 2em 1em 0}.metric b{font-size:1.6em;display:block}code{font-size:12px}"""


def _pictures(written: WrittenLibraries) -> dict[str, str]:
    """`Lib:Item` -> inline SVG (with a "unit 1 of N" caption for split symbols) for every written
    symbol and footprint."""
    pictures: dict[str, str] = {}
    for path in written.symbol_files:
        try:
            root = parse(path.read_text(encoding="utf-8"))
        except (OSError, SExprError):
            continue
        for sym in children(root, "symbol"):
            try:
                units = unit_count(sym)
                caption = f"<br><small>unit 1 of {units}</small>" if units > 1 else ""
                pictures[f"{path.stem}:{value(sym)}"] = symbol_svg(sym) + caption
            except (ValueError, TypeError, IndexError):
                pass
    for folder in written.footprint_folders:
        for mod in folder.glob("*.kicad_mod"):
            try:
                pictures[f"{folder.name.removesuffix('.pretty')}:{mod.stem}"] = footprint_svg(
                    parse(mod.read_text(encoding="utf-8"))
                )
            except (OSError, SExprError, ValueError, TypeError, IndexError):
                pass
    return pictures


def _export_once(cli: Path, kind: str, library: Path, out: Path) -> bool:
    """One kicad-cli call renders a whole library; skipped while the export is newer than the library
    (the report is rendered again at every stage of a run)."""
    stamp = out / ".exported"
    newest = max([library.stat().st_mtime, *(f.stat().st_mtime for f in library.glob("*.kicad_mod"))])
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return True
    out.mkdir(parents=True, exist_ok=True)
    args = (
        ["sym", "export", "svg", str(library), "-o", str(out)]
        if kind == "sym"
        else [
            "fp",
            "export",
            "svg",
            str(library),
            "-o",
            str(out),
            "--layers",
            KICAD_FP_LAYERS,
            "--sketch-pads-on-fab-layers",
        ]
    )
    try:
        proc = subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=KICAD_EXPORT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode == 0:
        stamp.touch()
    return proc.returncode == 0


def _kicad_pictures(cli: Path, written: WrittenLibraries, report_dir: Path) -> dict[str, str]:
    """`Lib:Item` -> <img> of KiCad's own rendering (kicad-cli export svg), beside the report.

    KiCad writes `NAME_unit1.svg` per symbol (unit 1, body style 1) and `NAME.svg` per footprint;
    an item whose file is missing (an export failure, a name KiCad changed) keeps our own picture.
    """
    pictures: dict[str, str] = {}
    jobs = [("sym", p, p.stem, "_unit1.svg") for p in written.symbol_files] + [
        ("fp", f, f.name.removesuffix(".pretty"), ".svg") for f in written.footprint_folders
    ]
    for kind, library, name, suffix in jobs:
        out = report_dir / "pictures" / kind / folder_name(name)
        if not _export_once(cli, kind, library, out):
            continue
        for svg in out.glob(f"*{suffix}"):
            rel = html.escape(_rel(str(svg), report_dir))
            size = _MM_WIDTH.search(svg.open(encoding="utf-8", errors="replace").read(2000))
            scale = SYMBOL_PX_PER_MM if kind == "sym" else FOOTPRINT_PX_PER_MM
            width = min(MAX_PX, max(MIN_PX, float(size.group(1)) * scale)) if size else MAX_PX
            pictures[f"{name}:{svg.name.removesuffix(suffix)}"] = (
                f"<img src='{rel}' loading='lazy' width='{width:.0f}' style='max-height:{MAX_PX:.0f}px' alt=''>"
            )
    return pictures


def _rel(path: str, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


PAGE_SIZE = 500  # item rows per page: a 70,000-part run stays a set of pages a browser opens at once
MAX_FAILURES_SHOWN = 1000  # on the first page; every failure is also on the item pages
STATUS_ORDER = {"failed": 0, "warning": 1, "ok": 2}
SEARCH_JS = """function a2kFilter(box,id){var q=box.value.toLowerCase();var rows=document.getElementById(id).rows;
for(var i=1;i<rows.length;i++){rows[i].style.display=rows[i].textContent.toLowerCase().indexOf(q)<0?'none':'';}}
function a2kSearch(box){var q=box.value.toLowerCase(),out=document.getElementById('a2k-hits');
if(!window.A2K_ITEMS){if(!window.a2kLoading){window.a2kLoading=1;var s=document.createElement('script');
s.src='items/index.js';s.onload=function(){a2kSearch(box)};document.head.appendChild(s);}return;}
if(q.length<2){out.innerHTML='';return;}var hits=[],n=0;for(var i=0;i<A2K_ITEMS.length&&hits.length<200;i++){
var r=A2K_ITEMS[i];if((r[0]+' '+r[1]+' '+r[2]+' '+r[3]).toLowerCase().indexOf(q)>=0){hits.push(r);}}
out.innerHTML=hits.map(function(r){var a=document.createElement('a');a.href='items/page-'+('000'+r[4]).slice(-4)+'.html';
a.textContent=r[1]+' ('+r[0]+', '+r[3]+')';return '<li class=\\''+r[3]+'\\'>'+a.outerHTML+'</li>';}).join('')
+(hits.length>=200?'<li>first 200 matches</li>':'');}"""


def _page_name(number: int) -> str:
    return f"page-{number:04d}.html"


@lru_cache(maxsize=4096)
def _file_name(path: str) -> str:
    """A library's file name (70,000 rows name a handful of libraries: one Path each)."""
    return Path(path).name


@lru_cache(maxsize=4096)
def _escaped(text: str) -> str:
    """html.escape of a value many rows share (kind, status, library file name)."""
    return html.escape(text)


def _item_rows(rows, pictures: dict[str, str]) -> list[str]:
    e, shared = html.escape, _escaped
    return [
        f"<tr><td>{pictures.get(r.target, '')}</td><td>{shared(r.kind)}</td><td>{e(r.item)}<br><small>{shared(_file_name(r.library))}</small></td>"
        f"<td><code>{e(r.target)}</code></td><td class='{shared(r.status)}'>{shared(r.status)}</td>"
        f"<td>{'<br>'.join([e(m) for m in r.messages]) if r.messages else ''}</td></tr>"
        for r in rows
    ]


ITEM_HEAD = (
    "<tr><th>picture</th><th>kind</th><th>source item</th><th>KiCad</th><th>status</th><th>messages</th></tr>"
)


def _pager(pages: int, current: int, prefix: str) -> str:
    """Links to every page (a 70,000-item run has 140: short labels, one line)."""
    if pages <= 1:
        return ""
    links = [
        f"<b>{n}</b>" if n == current else f"<a href='{prefix}{_page_name(n)}'>{n}</a>"
        for n in range(1, pages + 1)
    ]
    return "<p class='pager'>pages: " + " ".join(links) + "</p>"


def _write(path: Path, text: str) -> None:
    """Atomically: parallel tasks may render at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_item_pages(folder: Path, run_id: str, rows, pictures: dict[str, str]) -> int:
    """items/page-NNNN.html (PAGE_SIZE rows each, failures first) and items/index.js for the search
    (kind, item, library file, status, page: about 100 bytes an item, read only when someone
    searches); returns the page count. Pages left from an earlier, longer rendering are removed."""
    import json

    e = html.escape
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    head = f"<!doctype html><meta charset='utf-8'><style>{CSS}</style><script>{SEARCH_JS}</script>"
    for number in range(1, pages + 1):
        chunk = rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        first = (number - 1) * PAGE_SIZE + 1
        _write(
            folder / _page_name(number),
            head
            + f"<title>Items {first}-{first + len(chunk) - 1} · {e(run_id)}</title>"
            + f"<p><a href='../index.html'>← report</a> · items {first}–{first + len(chunk) - 1} of {len(rows)}"
            + " · filter this page: <input oninput=\"a2kFilter(this,'items')\"></p>"
            + _pager(pages, number, "")
            + f"<table id='items'>{ITEM_HEAD}"
            + "\n".join(_item_rows(chunk, pictures))
            + "</table>"
            + _pager(pages, number, ""),
        )
    for stale in folder.glob("page-*.html"):
        if stale.name > _page_name(pages):
            stale.unlink(missing_ok=True)
    index = [
        [r.kind, r.item, _file_name(r.library), r.status, n // PAGE_SIZE + 1] for n, r in enumerate(rows)
    ]
    _write(
        folder / "index.js",
        "window.A2K_ITEMS=" + json.dumps(index, ensure_ascii=False, separators=(",", ":")) + ";",
    )
    return pages


def _rows_digest(rows) -> str:
    """sha256 over the run's converted rows (what the pages show of them)."""
    import hashlib

    digest = hashlib.sha256()
    for r in rows:
        digest.update("\x1f".join((r.library, r.item, r.kind, r.target, r.status, *r.messages)).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def _items_stamp(rows_stamp, written: WrittenLibraries, kicad_cli) -> list:
    """What the item pages are made of: the run's converted rows (their digest, or the database's
    fingerprint of them), the library files pictured (size, mtime), the page layout."""
    files = list(written.symbol_files)
    files += [m for folder in written.footprint_folders for m in sorted(folder.glob("*.kicad_mod"))]
    stats = []
    for f in files:
        try:
            st = f.stat()
            stats.append([str(f), st.st_size, st.st_mtime_ns])
        except OSError:
            stats.append([str(f), -1, -1])
    return [rows_stamp, stats, str(kicad_cli or ""), PAGE_SIZE, MAX_FAILURES_SHOWN]


def _item_section(store, run_id: str, outputs: list[Path], report_path: Path, kicad_cli) -> dict:
    """The item pages, written unless the pages already there were made of the same rows and files
    (items/rendered.json says what they were made of); returns what the first page shows of them.

    Every validation and deployment task renders the report; after the validation nothing the
    pages show changes, and writing 140 pages of a 70,000-item run costs seconds each time."""
    import json

    folder = report_path.parent / "items"
    written = WrittenLibraries.find(outputs)

    def rendered(stamp: list) -> dict | None:
        try:
            done = json.loads((folder / "rendered.json").read_text(encoding="utf-8"))
            if done["stamp"] == stamp and (folder / _page_name(done["pages"])).is_file():
                return done
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return None

    # the fingerprint is read before the rows: rows changing in between make the next rendering
    # write the pages again, never skip them
    fingerprint = store.converted_items_fingerprint(run_id, "full")
    if fingerprint is not None:
        stamp = _items_stamp(["ids", *fingerprint], written, kicad_cli)
        done = rendered(stamp)
        if done is not None:
            return done
    rows = sorted(
        store.converted_item_rows(run_id, "full"),
        key=lambda r: (STATUS_ORDER.get(r.status, 3), r.library, r.kind, r.item),
    )
    if fingerprint is None:
        stamp = _items_stamp(_rows_digest(rows), written, kicad_cli)
        done = rendered(stamp)
        if done is not None:
            return done
    pictures = _pictures(written)
    if kicad_cli:
        pictures.update(_kicad_pictures(kicad_cli, written, report_path.parent))
    failed = [r for r in rows if r.status == "failed"]
    done = {
        "stamp": stamp,
        "rows": len(rows),
        "pages": _write_item_pages(folder, run_id, rows, pictures),
        "failed": len(failed),
        "failed_rows": _item_rows(failed[:MAX_FAILURES_SHOWN], pictures),
        "first_rows": _item_rows(rows[:PAGE_SIZE], pictures),
    }
    _write(folder / "rendered.json", json.dumps(done, ensure_ascii=False))
    return done


def render(
    store,
    run_id: str,
    outputs: list[Path],
    report_path: Path,
    extra: dict | None = None,
    quality_target: float | None = None,
    kicad_cli: Path | None = None,
    final_state: tuple[str, str] | None = None,
) -> Path:
    """Writes report_path and its item pages (atomically: parallel tasks may render at once) and
    returns it.

    The first page is what QA reads first: summary, why the run stopped (libraries that could not
    be opened, failed gates), failed items, gates; then the first PAGE_SIZE items, the rest on
    numbered pages under `items/`, all of them reachable by the search box.
    With `kicad_cli`, items are pictured by KiCad itself (our own pictures stay the fallback).
    `final_state` (status, headline: include.run_outcome, once the run has ended) leads the page."""
    run = store.run(run_id)
    counts = store.status_counts(run_id, "full")
    metrics = store.metrics(run_id)
    gates = store.gates(run_id)
    audit = store.audit_log(run_id)
    lost = [i for i in store.source_items(run_id, "library") if (i.facts or {}).get("error")]
    items = _item_section(store, run_id, outputs, report_path, kicad_cli)
    e = html.escape
    out = [
        f"<!doctype html><meta charset='utf-8'><title>Migration report {e(run_id)}</title><style>{CSS}</style>"
        f"<script>{SEARCH_JS}</script>",
        f"<h1>Altium → KiCad migration report</h1><p>Run <code>{e(run_id)}</code> · source <code>{e(run.source if run else '')}</code>"
        f" · environment <b>{e(run.environment if run else '')}</b> (validation {e(run.validation_level if run else '')})"
        f" · status <b>{e(run.status if run else '')}</b></p>",
    ]
    if final_state:
        status, headline = final_state
        css = {"deployed": "ok", "succeeded": "ok"}.get(status, "failed")
        out.append(f"<h2 class='{css}' id='final-state'>Final state: {e(headline)}</h2>")
    if extra:
        out.append("<p>" + " · ".join(f"{e(k)}: <code>{e(str(v))}</code>" for k, v in extra.items()) + "</p>")
    out.append("<h2>Summary</h2><div>")
    for name, m in sorted(metrics.items()):
        shown = (
            f"{m.value:.1%}"
            if m.unit == "ratio"
            else (f"{m.value:.0f}" if m.unit == "items" else f"{m.value:.1f} s")
        )
        below = name == "migration_quality" and quality_target is not None and m.value < quality_target
        flag = f"<span class='failed'>below the target of {quality_target:.0%}</span>" if below else ""
        out.append(f"<span class='metric'><b>{shown}</b>{e(name)}{flag}</span>")
    out.append(
        "</div><p>"
        + ", ".join(f"<span class='{k}'>{v} {k}</span>" for k, v in sorted(counts.items()))
        + "</p>"
    )
    failed_gates = [g for g in gates if not g.success]
    refused = [a for a in audit if a.action == "approval_outcome" and not (a.detail or {}).get("approved")]
    if lost or failed_gates or refused:
        out.append("<h2 class='failed'>Why the run stopped</h2><ul>")
        for a in refused:
            where = f" ({a.detail['task']})" if a.detail.get("task") else ""
            out.append(
                f"<li class='failed'>approval{e(where)} refused: {e(str(a.detail.get('reason')))}</li>"
            )
        for lib in lost:
            out.append(
                f"<li class='failed'>library {e(lib.library)} could not be opened: {e(lib.facts['error'])}</li>"
            )
        for g in failed_gates:
            for x in (g.summary or {}).get("expectations", []):
                if not x["success"] and not x.get("warning_only"):
                    out.append(
                        f"<li class='failed'>gate {e(g.gate)}: {e(x['notes'])}: {x['failed_count']} items: "
                        f"{e('; '.join(x['failed_items'][:5]))}</li>"
                    )
            out += [
                f"<li class='failed'>gate {e(g.gate)}: {e(m)}</li>"
                for m in (g.summary or {}).get("messages", [])
            ]
        out.append("</ul>")
    out.append(
        "<h2>Quality gates</h2><table><tr><th>gate</th><th>level</th><th>result</th><th>details</th><th>Data Docs</th></tr>"
    )
    for g in gates:
        s = g.summary or {}
        details = "<br>".join(
            f"{'⚠' if x.get('warning_only') else '✗'} {e(x['expectation'])}({e(x['column'])}): {x['failed_count']} items: "
            f"{e('; '.join(x['failed_items'][:5]))}"
            for x in s.get("expectations", [])
            if not x["success"]
        )
        details += "".join(f"<br>✗ {e(m)}" for m in s.get("messages", []))
        docs = s.get("data_docs") or ""
        link = f"<a href='{e(_rel(docs, report_path.parent))}'>open</a>" if docs else ""
        out.append(
            f"<tr><td>{e(g.gate)}</td><td>{e(g.level)}</td><td class='{'ok' if g.success else 'failed'}'>"
            f"{'passed' if g.success else 'FAILED'}</td><td>{details or s.get('checked', '')}</td><td>{link}</td></tr>"
        )
    out.append("</table>")
    if items["failed"]:
        more = (
            f" (the first {MAX_FAILURES_SHOWN}; all are on the item pages)"
            if items["failed"] > MAX_FAILURES_SHOWN
            else ""
        )
        out.append(f"<h2 class='failed'>Failed items: {items['failed']}{more}</h2><table>{ITEM_HEAD}")
        out += items["failed_rows"]
        out.append("</table>")
    pages = items["pages"]
    out.append(
        f"<h2>Items: {items['rows']}</h2><p>Failures first, then warnings; {PAGE_SIZE} per page. "
        "Search every item: <input placeholder='name, library, status' oninput='a2kSearch(this)'>"
        " · filter this page: <input oninput=\"a2kFilter(this,'items')\"></p><ul id='a2k-hits'></ul>"
        + _pager(pages, 1, "items/")
        + f"<table id='items'>{ITEM_HEAD}"
    )
    out += items["first_rows"]
    out.append(
        "</table>"
        + _pager(pages, 1, "items/")
        + "<h2>Audit log</h2><table><tr><th>when</th><th>who</th><th>what</th><th>detail</th></tr>"
    )
    for a in audit:
        out.append(
            f"<tr><td>{e(str(a.at))}</td><td>{e(a.actor)}</td><td>{e(a.action)}</td><td><code>{e(str(a.detail))}</code></td></tr>"
        )
    out.append("</table>")
    _write(report_path, "\n".join(out))
    return report_path
