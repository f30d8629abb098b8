"""Fault injection: one full `distillscope run` per fault kind against a server that fails every first attempt.

Runs a clean baseline and one run per kind (tests/faultserver.py, tests/faultrun.py), each a CLI subprocess
with its own empty response cache, and prints a markdown table: faults injected (the server's own count), exit
code, manifest status, records, records lost or answered differently than in the clean run, duplicate records
(by key, in every JSONL), failed or unscored records, files holding fault text (run directory and cache),
tracebacks, and seconds per run; then the totals and the wall time.

    python benchmarks/bench_faults.py                  # every kind, 3 runs at a time
    python benchmarks/bench_faults.py --kinds html hang --workers 2 --keep /tmp/faults
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fault server and audit: test helpers

from faultrun import run_all, summary_table
from faultserver import FAULT_KINDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", choices=FAULT_KINDS, default=list(FAULT_KINDS))
    parser.add_argument("--workers", type=int, default=3, help="runs at a time (each is a CLI process)")
    parser.add_argument("--keep", type=Path, help="keep the run directories under this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        root = args.keep or Path(tmp)
        started = time.monotonic()
        results = run_all([None, *args.kinds], root, workers=args.workers)
        wall = time.monotonic() - started
    print(summary_table(results))
    print(f"wall {wall:.1f} s ({args.workers} runs at a time)")
    for r in results.values():
        if r.exit_code != 0:
            print(f"\n{r.label}: exit {r.exit_code}\n{r.stderr}")


if __name__ == "__main__":
    main()
