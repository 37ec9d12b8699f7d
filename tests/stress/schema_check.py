"""schemathesis against the live server's ``/api/schema/``: stateless checks, loopback only.

Runs the ``st`` CLI in a subprocess (bounded by a timeout): every operation of the schema,
coverage and fuzzing phases, checking that no answer is a 5xx and that status codes,
content types, headers and bodies conform to the schema. Failures are read from
schemathesis' JSON report. A 5xx, a body or header that contradicts the schema, or any
error fails the run; a status code or content type the schema does not list (a gap in
the documentation rather than a wrong answer) is reported, and fails the run only with
``strict``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
# Undocumented status code / Content-Type: the answer is right, the schema does not say so.
DOCUMENTATION_GAPS = frozenset({"ST103", "ST105"})


def run_schemathesis(
    base_url: str, max_examples: int, workdir: Path, *, strict: bool = False, timeout: int = 300
) -> tuple[str, list[str]]:
    """Return a one-line summary and the failures that fail the run (empty: passed)."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        return "not installed", ["the st command is missing (pip install -e '.[stress]')"]
    report = workdir / "schemathesis.json"
    command = [
        st,
        "run",
        f"{base_url}/api/schema/",
        "--url",
        base_url,
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--continue-on-failure",
        "--request-timeout",
        "20",
        # One worker: hypothesis' source inspection is not thread-safe on CPython 3.11.
        "--workers",
        "1",
        "--seed",
        "1",
        "--no-color",
        "--suppress-health-check",
        "all",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timed out", [f"schemathesis did not finish within {timeout}s"]
    output = done.stdout + done.stderr
    try:
        result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no report", [f"schemathesis exited {done.returncode}:\n{output[-3000:]}"]
    cases = result.get("test_cases", {})
    failing: list[str] = []
    gaps: list[str] = []
    for failure in result.get("failures", []):
        text = (
            f"{failure.get('code')} {failure.get('title')} "
            f"({', '.join(failure.get('operations', []))})"
        )
        if failure.get("code") in DOCUMENTATION_GAPS and not strict:
            gaps.append(text)
        else:
            failing.append(text)
    failing += [f"error: {error}" for error in result.get("errors", [])]
    if done.returncode and not failing and not gaps:
        failing.append(f"schemathesis exited {done.returncode}:\n{output[-3000:]}")
    if failing:
        failing[-1] += f"\n{output[-3000:]}"
    summary = f"{cases.get('generated', 0)} generated test cases, {len(failing)} failure(s)"
    if gaps:
        summary += "; schema gaps (reported, not fatal): " + "; ".join(gaps)
    return summary, failing
