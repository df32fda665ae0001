"""Every bench in one run, its tables written to one file with what they were measured on:
the date, the commit, the machine, the load before and after each bench. docs/ quotes the
figures from these files, so a figure can be traced to the run that made it and made
again.

    python -m bench all [--quick] [--out docs/bench-runs]

--quick runs each bench with fewer rounds and databases (minutes, not an hour); its table
says so. Each bench also runs alone: `python -m bench.NAME --help`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name: (full arguments, quick arguments)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "floor": (["--sizes", "10,100,1000,5000", "--unrelated", "0,20000", "--rounds", "7"],
              ["--sizes", "10,100,1000", "--unrelated", "0", "--rounds", "3"]),
    "queue_idle": (["--count", "1000", "--rounds", "3", "--seconds", "20"],
                   ["--count", "1000", "--rounds", "2", "--seconds", "10"]),
    "poll_cost": (["--rounds", "7"], ["--rounds", "3"]),
    "startup": (["--rounds", "5"], ["--rounds", "3"]),
    "exporter": ([], ["--databases", "300", "--windows", "2"]),
    "observer_effect": ([], ["--rounds", "2"]),
    "recording": ([], ["--seconds", "10", "--rounds", "2"]),
    "ui": ([], ["--seconds", "5", "--presses", "15"]),
}


def commit() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("what", choices=("all", *BENCHES), help="all, or one bench")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "bench-runs"))
    args = parser.parse_args()
    names = list(BENCHES) if args.what == "all" else [args.what]
    started = datetime.datetime.now(datetime.timezone.utc)
    measured = commit()  # once: a commit made while the benches run is not what they ran
    header = [f"# Bench run {started:%Y-%m-%d %H:%M} UTC, commit {measured}", "",
              f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, "
              f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
              f"- mode: {'quick (fewer rounds and databases)' if args.quick else 'full'}",
              "- a shared machine: compare the ratios within a table, not absolute times "
              "across runs", ""]
    sections = []
    for name in names:
        arguments = BENCHES[name][1 if args.quick else 0]
        before, clock = load(), time.monotonic()
        print(f"bench: {name} {' '.join(arguments)} ({before})", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, "-m", f"bench.{name}", *arguments], cwd=ROOT,
                              capture_output=True, text=True)
        took = time.monotonic() - clock
        output = done.stdout.rstrip() if done.returncode == 0 else \
            f"FAILED (exit {done.returncode})\n{done.stderr[-2000:]}"
        sections += [f"## {name}", "",
                     f"`python -m bench.{name} {' '.join(arguments)}`; {took:.0f} s; before: "
                     f"{before}; after: {load()}", "", "```", output, "```", ""]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{started:%Y-%m-%d-%H%M}-{measured}.md"
    target.write_text("\n".join(header + sections))
    print(target)


if __name__ == "__main__":
    main()
