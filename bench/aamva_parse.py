"""How long the device agent takes to parse one licence barcode (the budget is 1 ms).

    python bench/aamva_parse.py [iterations]

Times ``device_agent.aamva.parse`` call by call on a spread of the test samples: a clean
file, a version-01 file, directories that need searching, a body whose separators were
lost, CRLF and Latin-1 input. Prints mean, p50 and p99 per sample in microseconds.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from device_agent.aamva import parse  # noqa: E402
from tests.device_agent.aamva.samples import SAMPLES_BY_NAME  # noqa: E402

BUDGET_MICROSECONDS = 1_000
CASES = [
    "v10-VA-aamva-2020-example",
    "v01-VA-aamva-2000-example",
    "v03-ON-directory-offset-zero",
    "v03-AB-unreadable-directory",
    "v04-WY-no-marker-ccyymmdd-dates",
    "v06-KS-wedge-stripped-separators",
    "v08-CA-address-on-AZ-iin-crlf",
    "v02-NB-canadian-mmddccyy-latin1",
]


def measure(payload: str | bytes, iterations: int) -> list[float]:
    for _ in range(min(200, iterations)):
        parse(payload)
    timings = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        parse(payload)
        timings.append((time.perf_counter_ns() - started) / 1_000)
    return timings


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    python = sys.version.split()[0]
    print(f"device_agent.aamva.parse, {iterations} calls per sample, Python {python}")
    print(f"{'sample':40} {'mean us':>9} {'p50 us':>9} {'p99 us':>9}")
    worst = 0.0
    for name in CASES:
        timings = sorted(measure(SAMPLES_BY_NAME[name].payload, iterations))
        p50 = timings[len(timings) // 2]
        p99 = timings[int(len(timings) * 0.99) - 1]
        worst = max(worst, p99)
        print(f"{name:40} {statistics.fmean(timings):9.1f} {p50:9.1f} {p99:9.1f}")
    verdict = "within" if worst < BUDGET_MICROSECONDS else "OVER"
    print(f"worst p99 {worst:.1f} us: {verdict} the {BUDGET_MICROSECONDS} us budget")


if __name__ == "__main__":
    main()
