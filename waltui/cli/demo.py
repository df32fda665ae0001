"""`waltui demo`: three agent databases used as queues, a real workload, and the dashboard.

Agents alpha and beta are well-behaved (producers and consumers). Agent gamma also runs a
report that holds a read transaction for ~20 s every ~30 s: its WAL is pinned, checkpoints
go partial and the -wal grows, so starvation appears on screen within seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from waltui.cli.demo_agent import PENDING_SQL, create
from waltui.config import Config
from waltui.options import QueueQuery

if TYPE_CHECKING:
    from waltui.recording.writer import Recorder

# (agent, role, rate per second or hold seconds)
WORKLOAD: tuple[tuple[str, str, float], ...] = (
    ("agent-alpha", "producer", 15.0), ("agent-alpha", "consumer", 18.0),
    ("agent-beta", "producer", 25.0), ("agent-beta", "consumer", 12.0),
    ("agent-beta", "consumer", 12.0),
    ("agent-gamma", "producer", 60.0), ("agent-gamma", "consumer", 50.0),
    ("agent-gamma", "hog", 20.0),
)


@dataclass
class DemoWorkload:
    directory: str
    processes: list[subprocess.Popen[bytes]]
    owns_directory: bool

    @property
    def paths(self) -> list[str]:
        return sorted({os.path.join(self.directory, f"{agent}.db") for agent, _, _ in WORKLOAD})

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def start_workload(seed: int = 7, directory: str | None = None) -> DemoWorkload:
    owns = directory is None
    directory = directory or tempfile.mkdtemp(prefix="waltui-demo-")
    os.makedirs(directory, exist_ok=True)
    workload = DemoWorkload(directory, [], owns)
    for path in workload.paths:
        create(path)
    for number, (agent, role, rate) in enumerate(WORKLOAD):
        path = os.path.join(directory, f"{agent}.db")
        workload.processes.append(subprocess.Popen(
            [sys.executable, "-m", "waltui.cli.demo_agent", role, path, str(seed * 100 + number),
             str(rate)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
    return workload


def demo_config(config: Config) -> Config:
    queries = config.queries
    if not any(q.name == "pending" for q in queries):
        queries += (QueueQuery("pending", PENDING_SQL),)
    return replace(config, queries=queries)


def run_demo(config: Config, *, seed: int = 7, directory: str | None = None,
             recorder: Recorder | None = None) -> int:
    from waltui.ui.app import run_dashboard

    workload = start_workload(seed, directory)
    try:
        return run_dashboard(workload.paths, demo_config(config), on_exit=workload.stop,
                             recorder=recorder)
    finally:
        workload.stop()
