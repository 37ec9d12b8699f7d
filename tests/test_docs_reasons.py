"""docs/http.md's table of reason codes is the enumeration etags.Reason, row for row."""

from __future__ import annotations

from pathlib import Path

from django_etag_lock.etags import Reason

HTTP_MD = Path(__file__).resolve().parent.parent / "docs" / "http.md"
MARKER = "<!-- reason-codes:"


def _table_rows() -> list[list[str]]:
    lines = HTTP_MD.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER))
    rows: list[list[str]] = []
    for line in lines[start + 3 :]:  # the marker, the header, the separator
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_reason_table_lists_every_code_with_its_statuses_and_description():
    expected = [
        [
            f"`{reason.value}`",
            ", ".join(f"`{status}`" for status in reason.statuses),
            reason.description,
        ]
        for reason in Reason
    ]
    assert _table_rows() == expected
