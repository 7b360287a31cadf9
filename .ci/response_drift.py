"""Judge Redocly's drift report on the responses alone.

    python .ci/response_drift.py DRIFT_REPORT_JSON

The fuzzer sends invalid and unauthenticated requests on purpose, so findings about requests are
expected; any warning or error about a response means the live service answered outside its
contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(report_path: Path) -> int:
    report = json.loads(report_path.read_text())
    run = report["run"]
    findings = [
        problem
        for problem in report["problems"]
        if problem.get("target") == "response" and problem.get("severity") in {"warning", "error"}
    ]
    for finding in findings:
        where = f"{finding.get('method', '?')} {finding.get('url', '?')}"
        print(f"{finding['severity']}: {finding['ruleId']}: {finding['message']} ({where})")
    print(
        f"{run['totalExchanges']} exchanges, {run['documentedExchanges']} matched to operations, "
        f"{len(findings)} response findings"
    )
    return 1 if findings or run["documentedExchanges"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
