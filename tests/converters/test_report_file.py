"""report.json: what ConversionReport.write stores is exactly its rows, one item per line."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from converters.report import ConversionReport, ItemReport, Status


def _report() -> ConversionReport:
    report = ConversionReport('/out/"quoted"')
    report.add(ItemReport("a.SchLib", "R1", "symbol", "Lib:R1"))
    report.add(
        ItemReport("b.PcbLib", "SOT-23\n(odd)", "footprint", "Lib:SOT-23", Status.WARNING, ["tab\there"], 3)
    )
    report.add(ItemReport("c.DbLib", "Résistance/Ω 10k", "part", "", Status.FAILED, ["symbol 'X' not found"]))
    return report


def test_a_row_holds_every_field_as_asdict_would_with_its_status_value():
    for row in _report().items:
        expected = asdict(row) | {"status": row.status.value}
        if not row.shape_pads:
            del expected["shape_pads"]
        assert row.to_json() == expected
        assert list(row.to_json()) == [f.name for f in fields(ItemReport) if f.name in expected]


def test_report_json_reads_back_as_the_report_one_item_per_line(tmp_path):
    report, path = _report(), tmp_path / "report.json"
    report.write(path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == report.to_json()
    lines = text.splitlines()
    assert len(lines) == 2 + len(report.items)  # head, a line per item, the closing line
    assert [json.loads(line.rstrip(",")) for line in lines[1:-1]] == [r.to_json() for r in report.items]
    assert "Résistance/Ω" in text  # written as UTF-8 text, not \\u escapes


def test_an_empty_report_is_valid_json(tmp_path):
    path = tmp_path / "report.json"
    ConversionReport("/out").write(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "output": "/out",
        "counts": {"ok": 0, "warning": 0, "failed": 0},
        "items": [],
    }
