"""The one problem type the model and the readers share, kept below both so imports run downward.

An item a reader found but could not turn into the model becomes an `ItemFailure`; the run turns
it into a failed report row (`converters/report.py`), and the rest of its library goes on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ItemFailure:
    """An item a reader found but could not turn into the model (the rest of its library goes on)."""

    name: str
    reason: str
