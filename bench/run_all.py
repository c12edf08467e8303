"""Runs every benchmark once, in a fixed order, with settings that finish in about half an hour.

    python -m bench.run_all [--only NAME ...]

Each benchmark prints its own figures; this only sequences them and reports failures at the end.
The Orthanc comparison needs Debian's `orthanc` and `orthanc-dicomweb`; the voice and text benches
load every default model.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

BENCHES: list[tuple[str, list[str]]] = [
    ("memory", ["bench.memory", "--sessions", "10"]),
    ("text_turns", ["bench.text_turns", "--turns", "24", "--levels", "1,2,4,8,16"]),
    ("voice_latency", ["bench.voice_latency", "--quick"]),
    ("voice_asr", ["bench.voice_asr"]),
    ("retrieval", ["bench.retrieval_eval", "--limit", "1000"]),
    ("triage", ["bench.triage_eval"]),
    ("preconsult", ["bench.preconsult_eval", "--limit", "100"]),
    ("clinical_api_throughput", ["bench.clinical_api_throughput"]),
    ("booking_race", ["bench.clinical_api_booking_race"]),
    ("dicomweb_vs_orthanc", ["bench.dicomweb_vs_orthanc", "--studies", "2000"]),
    ("video_call_setup", ["bench.video_call_setup", "--calls", "10"]),
    ("outreach_scheduler", ["bench.outreach_scheduler"]),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="names to run (default: all)")
    args = parser.parse_args()
    failed: list[str] = []
    for name, argv in BENCHES:
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name}: python -m {' '.join(argv)}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", *argv], check=False)
        print(f"=== {name}: exit {result.returncode} in {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
