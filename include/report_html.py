"""The migration report QA opens: summary, metrics, gate results (with Data Docs) and every item
with its status, messages and a picture of what was written.

Built from the library database and the written files, so it can be re-rendered at any stage of
the run (each validation and deployment task does) and always shows the current state.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from converters.kicad.sexpr_reader import SExprError, children, parse, value
from .library_facts import WrittenLibraries
from .svg_render import footprint_svg, symbol_svg

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}
.ok{color:#176f2c}.warning{color:#a66a00}.failed{color:#b00020;font-weight:bold}.metric{display:inline-block;
margin:0 2em 1em 0}.metric b{font-size:1.6em;display:block}code{font-size:12px}"""


def _pictures(written: WrittenLibraries) -> dict[str, str]:
    """`Lib:Item` -> inline SVG for every written symbol and footprint."""
    pictures: dict[str, str] = {}
    for path in written.symbol_files:
        try:
            root = parse(path.read_text(encoding="utf-8"))
        except (OSError, SExprError):
            continue
        for sym in children(root, "symbol"):
            try:
                pictures[f"{path.stem}:{value(sym)}"] = symbol_svg(sym)
            except (ValueError, TypeError, IndexError):
                pass
    for folder in written.footprint_folders:
        for mod in folder.glob("*.kicad_mod"):
            try:
                pictures[f"{folder.name.removesuffix('.pretty')}:{mod.stem}"] = footprint_svg(
                    parse(mod.read_text(encoding="utf-8")))
            except (OSError, SExprError, ValueError, TypeError, IndexError):
                pass
    return pictures


def _rel(path: str, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return path


def render(store, run_id: str, outputs: list[Path], report_path: Path, extra: dict | None = None,
           quality_target: float | None = None) -> Path:
    """Writes report_path (atomically: parallel tasks may render at once) and returns it."""
    run = store.run(run_id)
    rows = store.converted_items(run_id, "full")
    counts = store.status_counts(run_id, "full")
    metrics = store.metrics(run_id)
    gates = store.gates(run_id)
    audit = store.audit_log(run_id)
    pictures = _pictures(WrittenLibraries.find(outputs))
    e = html.escape
    out = [f"<!doctype html><meta charset='utf-8'><title>Migration report {e(run_id)}</title><style>{CSS}</style>",
           f"<h1>Altium → KiCad migration report</h1><p>Run <code>{e(run_id)}</code> · source <code>{e(run.source if run else '')}</code>"
           f" · environment <b>{e(run.environment if run else '')}</b> (validation {e(run.validation_level if run else '')})"
           f" · status <b>{e(run.status if run else '')}</b></p>"]
    if extra:
        out.append("<p>" + " · ".join(f"{e(k)}: <code>{e(str(v))}</code>" for k, v in extra.items()) + "</p>")
    out.append("<h2>Summary</h2><div>")
    for name, m in sorted(metrics.items()):
        shown = f"{m.value:.1%}" if m.unit == "ratio" else (f"{m.value:.0f}" if m.unit == "items" else f"{m.value:.1f} s")
        below = name == "migration_quality" and quality_target is not None and m.value < quality_target
        flag = f"<span class='failed'>below the target of {quality_target:.0%}</span>" if below else ""
        out.append(f"<span class='metric'><b>{shown}</b>{e(name)}{flag}</span>")
    out.append("</div><p>" + ", ".join(f"<span class='{k}'>{v} {k}</span>" for k, v in sorted(counts.items())) + "</p>")
    out.append("<h2>Quality gates</h2><table><tr><th>gate</th><th>level</th><th>result</th><th>details</th><th>Data Docs</th></tr>")
    for g in gates:
        s = g.summary or {}
        details = "<br>".join(
            f"{'⚠' if x.get('warning_only') else '✗'} {e(x['expectation'])}({e(x['column'])}): {x['failed_count']} items: "
            f"{e('; '.join(x['failed_items'][:5]))}" for x in s.get("expectations", []) if not x["success"])
        details += "".join(f"<br>✗ {e(m)}" for m in s.get("messages", []))
        docs = s.get("data_docs") or ""
        link = f"<a href='{e(_rel(docs, report_path.parent))}'>open</a>" if docs else ""
        out.append(f"<tr><td>{e(g.gate)}</td><td>{e(g.level)}</td><td class='{'ok' if g.success else 'failed'}'>"
                   f"{'passed' if g.success else 'FAILED'}</td><td>{details or s.get('checked', '')}</td><td>{link}</td></tr>")
    out.append("</table><h2>Items</h2><table><tr><th>picture</th><th>kind</th><th>source item</th><th>KiCad</th><th>status</th><th>messages</th></tr>")
    for r in rows:
        pic = pictures.get(r.target, "")
        out.append(f"<tr><td>{pic}</td><td>{e(r.kind)}</td><td>{e(r.item)}<br><small>{e(Path(r.library).name)}</small></td>"
                   f"<td><code>{e(r.target)}</code></td><td class='{e(r.status)}'>{e(r.status)}</td>"
                   f"<td>{'<br>'.join(e(m) for m in r.messages)}</td></tr>")
    out.append("</table><h2>Audit log</h2><table><tr><th>when</th><th>who</th><th>what</th><th>detail</th></tr>")
    for a in audit:
        out.append(f"<tr><td>{e(str(a.at))}</td><td>{e(a.actor)}</td><td>{e(a.action)}</td><td><code>{e(str(a.detail))}</code></td></tr>")
    out.append("</table>")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = report_path.with_name(f".{report_path.name}.{os.getpid()}")
    tmp.write_text("\n".join(out), encoding="utf-8")
    os.replace(tmp, report_path)
    return report_path
