"""Watching a fleet: the exposition, the exporter and the example rules, tested against the
real engine (Debian's prometheus and promtool; CI installs them), real databases and real
processes holding real read transactions."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.narrow import some

pytestmark = pytest.mark.system

EXAMPLES = Path(__file__).parent.parent / "waltui" / "examples"
RULES = EXAMPLES / "prometheus" / "waltui-rules.yml"
PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="the Debian prometheus package is not installed (.ci/run installs it)")
ISSUE_METRICS = {
    "sqlite_db_bytes", "sqlite_wal_bytes", "sqlite_wal_in_use_bytes", "sqlite_shm_bytes",
    "sqlite_wal_frames", "sqlite_wal_backfilled_frames", "sqlite_wal_pending_frames",
    "sqlite_wal_checkpoint_sequence", "sqlite_wal_readers", "sqlite_wal_oldest_pin_seconds",
    "sqlite_write_lock_held_seconds", "sqlite_queue_depth", "sqlite_database_info", "waltui_up",
    "waltui_finding", "waltui_poll_duration_seconds", "waltui_checkpoints", "waltui_build_info"}
WALTUI = [sys.executable, "-m", "waltui"]


def waltui(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = subprocess.run(
        [*WALTUI, *args], capture_output=True, text=True, timeout=60,
        **kwargs)  # type: ignore[call-overload]
    return done


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        found.setdefault(family.name, [])
        found[family.name] += [(s.labels, s.value) for s in family.samples]
    return found


def frames_pending(db: Path) -> int:
    """From the JSON snapshot: the number a metric must agree with."""
    out = waltui("snapshot", "--json", str(db))
    return int(json.loads(out.stdout)["databases"][0]["frames_pending"])


def starved(db: Path, spawn) -> tuple[object, object]:
    """An application with a reader that stops its checkpoints: >1,500 frames pending."""
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("autocheckpoint 1000")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 1500")
    return app, reader


def test_exposition_names_every_metric_escapes_hostile_paths_and_passes_promtool(tmp_path):
    hostile = tmp_path / os.fsdecode(b'odd "name"\\ \xff\nq.db')
    plain = tmp_path / "plain.db"
    for path in (hostile, plain):
        subprocess.run(["sqlite3", str(path), "PRAGMA journal_mode=wal; CREATE TABLE q(x); "
                        "INSERT INTO q VALUES (1),(2);"], check=True, capture_output=True)
    out = waltui("snapshot", "--format", "prometheus", "--queue", "jobs=SELECT count(*) FROM q",
                 str(hostile), str(plain))
    assert out.returncode == 0, out.stderr
    found = samples(out.stdout)
    assert ISSUE_METRICS <= set(found)
    dbs = {labels["db"] for labels, _ in found["waltui_up"]}
    assert dbs == {str(plain), str(tmp_path) + '/odd "name"\\ \\xff\nq.db'}
    assert all(value == 1 for _, value in found["waltui_up"])
    assert [v for labels, v in found["sqlite_queue_depth"] if labels["db"] == str(plain)] == [2]
    assert found["waltui_build_info"][0][0]["version"]
    lint = subprocess.run([PROMTOOL or "promtool", "check", "metrics"], input=out.stdout,
                          capture_output=True, text=True) if PROMTOOL else None
    if lint is not None:
        assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_database_that_cannot_be_read_is_down_not_missing(tmp_path):
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not SQLite" * 10)
    found = samples(waltui("snapshot", "--format", "prometheus", str(bad)).stdout)
    assert found["waltui_up"] == [({"db": str(bad)}, 0.0)]
    assert found["sqlite_wal_bytes"] == []


def test_textfile_is_replaced_whole_and_an_unwritable_directory_is_exit_73(tmp_path):
    db = tmp_path / "a.db"
    subprocess.run(["sqlite3", str(db), "PRAGMA journal_mode=wal; CREATE TABLE q(x);"],
                   check=True, capture_output=True)
    out_dir = tmp_path / "textfile"
    out_dir.mkdir()
    (out_dir / "waltui.prom").write_text("stale\n")
    assert waltui("snapshot", "--textfile", str(out_dir), str(db)).returncode == 0
    assert os.listdir(out_dir) == ["waltui.prom"]  # no temporary left for the collector
    assert "sqlite_db_bytes" in samples((out_dir / "waltui.prom").read_text())
    missing = waltui("snapshot", "--textfile", str(tmp_path / "nowhere"), str(db))
    assert missing.returncode == 73 and "cannot write into" in missing.stderr
    assert waltui("snapshot", "--textfile", str(out_dir), "--format", "json",
                  str(db)).returncode == 64


def test_nagios_line_names_the_finding_and_keeps_the_plugin_exit_code(tmp_path, spawn):
    db = tmp_path / "agent.db"
    starved(db, spawn)
    out = waltui("check", "--format", "nagios", str(db))
    assert out.returncode == 1, out.stdout + out.stderr
    [line] = out.stdout.splitlines()
    status, perfdata = line.split(" | ")
    assert status.startswith("WALTUI WARNING - 1 database(s): ")
    assert f"{db} checkpoint_starvation" in status
    perf = dict(item.split("=") for item in perfdata.split())
    assert int(perf["pending_frames_max"].split(";")[0]) == frames_pending(db) > 1000
    assert perf["warning"].split(";")[0] == "1"


@needs_prometheus
def test_example_rules_pass_promtool_and_their_unit_tests():
    checked = subprocess.run([some(PROMTOOL), "check", "rules", str(RULES)], capture_output=True,
                             text=True)
    assert checked.returncode == 0 and "SUCCESS: 12 rules" in checked.stdout, checked.stdout
    tested = subprocess.run([some(PROMTOOL), "test", "rules", "waltui-rules.test.yml"],
                            cwd=RULES.parent, capture_output=True, text=True)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_every_runbook_url_has_its_entry_and_docs_runbook_is_the_served_one():
    """The rules' runbook_url anchors are entries of the runbook the exporter serves, every
    finding code the rules can raise has one, and docs/runbook.md is that same text."""
    from waltui.outputs.runbook import ANCHORS, runbook_markdown

    anchors = set(re.findall(r"/runbook#(\w+)", RULES.read_text()))
    assert anchors and anchors <= ANCHORS, anchors - ANCHORS
    source = "".join(p.read_text() for p in (EXAMPLES.parent / "health").glob("*.py"))
    codes = set(re.findall(r'code="([a-z_]+)"', source))
    assert codes and codes <= ANCHORS, codes - ANCHORS
    docs = (EXAMPLES.parent.parent / "docs" / "runbook.md").read_text()
    assert docs == runbook_markdown(), "python -m waltui.outputs.runbook > docs/runbook.md"


def test_grafana_dashboard_asks_only_for_metrics_waltui_exports(tmp_path):
    dashboard = json.loads((EXAMPLES / "grafana" / "waltui.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    named = {m for e in exprs for m in re.findall(r"\b((?:sqlite|waltui)_[a-z_]+)", e)}
    assert named and named <= ISSUE_METRICS | {"waltui_checkpoints_total"}, \
        named - ISSUE_METRICS
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    used = {m for e in exprs for m in re.findall(r"\$(\w+)", e)}
    assert used <= variables, used - variables


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Export:
    """`waltui export` in its own process; the port it says it serves on."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([*WALTUI, "export", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        self.said: list[str] = []  # what it printed up to its banner, the banner last
        match = None
        while match is None:
            line = self.proc.stderr.readline()
            assert line, "".join(self.said)
            self.said.append(line)
            match = re.search(r"(https?)://([\d.]+):(\d+)/metrics", line)
        self.banner = line
        self.url = f"{match[1]}://{match[2]}:{match[3]}"
        self.port = int(match[3])

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=10)


@pytest.fixture
def export() -> Iterator[Callable[..., Export]]:
    started: list[Export] = []

    def make(*args: str) -> Export:
        started.append(Export(*args))
        return started[-1]

    yield make
    for one in started:
        if one.proc.poll() is None:
            one.proc.kill()
            one.proc.wait()


def test_export_requires_its_token_names_the_reader_and_stops_on_sigterm(tmp_path, spawn, export):
    db = tmp_path / "agent.db"
    _, reader = starved(db, spawn)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    token.chmod(0o600)
    served = export("--listen", "127.0.0.1:0", "--bearer-token-file", str(token),
                    "--interval", "0.2", str(db))
    assert "loopback only" in served.banner
    assert served.get("/metrics")[0] == 401
    assert served.get("/metrics", {"Authorization": "Bearer wrong"})[0] == 401
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status, text = served.get("/metrics", {"Authorization": "Bearer s3cret"})
        assert status == 200
        if samples(text)["waltui_finding"]:
            break
        time.sleep(0.2)
    found = samples(text)
    assert [v for _, v in found["sqlite_wal_pending_frames"]] == [frames_pending(db)]
    assert found["waltui_finding"][0][0]["code"] == "checkpoint_starvation"
    assert all("pid" not in labels for family in found.values() for labels, _ in family)
    # the reader's pin ages between scrapes though the collector resends nothing new
    [(_, pinned)] = found["sqlite_wal_oldest_pin_seconds"]
    time.sleep(1.5)
    later = samples(served.get("/metrics", {"Authorization": "Bearer s3cret"})[1])
    [(_, pinned_later)] = later["sqlite_wal_oldest_pin_seconds"]
    assert pinned > 0 and pinned_later >= pinned + 1.0
    if PROMTOOL:  # the live exposition, a finding in it, lints as well as a snapshot's
        lint = subprocess.run([some(PROMTOOL), "check", "metrics"], input=text, capture_output=True,
                              text=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    findings = served.get("/findings", {"Authorization": "Bearer s3cret"})[1]
    assert f"pid {reader.pid}" in findings  # type: ignore[attr-defined]
    # what the named reader is doing now, read from /proc when the page is asked for
    assert f"pinning reader pid {reader.pid}: Now: state " in findings  # type: ignore[attr-defined]
    assert f"pinning reader pid {reader.pid}: Holds the database through fd " in findings  # type: ignore[attr-defined]
    runbook = served.get("/runbook", {"Authorization": "Bearer s3cret"})[1]
    assert '<h2 id="checkpoint_starvation">' in runbook  # where the rules' runbook_url points
    assert served.stop() == 0


def test_export_basic_auth_and_the_refusals(tmp_path, export):
    db = tmp_path / "a.db"
    subprocess.run(["sqlite3", str(db), "PRAGMA journal_mode=wal;"], check=True)
    secret = tmp_path / "basic"
    secret.write_text("prom:pa55\n")
    served = export("--listen", "127.0.0.1:0", "--basic-auth-file", str(secret), str(db))
    good = "Basic " + base64.b64encode(b"prom:pa55").decode()
    bad = "Basic " + base64.b64encode(b"prom:nope").decode()
    assert served.get("/metrics", {"Authorization": good})[0] == 200
    assert served.get("/metrics", {"Authorization": bad})[0] == 401
    assert "can be read by other users" in served.said[0]
    open_to_all = waltui("export", "--listen", "0.0.0.0:0", str(db))
    assert open_to_all.returncode == 64 and "not a loopback address" in open_to_all.stderr
    port = served.url.rsplit(":", 1)[1]
    taken = waltui("export", "--listen", f"127.0.0.1:{port}", str(db))
    assert taken.returncode == 69 and "cannot listen" in taken.stderr


def test_export_follows_a_directory_as_agents_come_and_go(tmp_path, export):
    first, second = tmp_path / "agent-1.db", tmp_path / "agent-2.db"
    subprocess.run(["sqlite3", str(first), "PRAGMA journal_mode=wal;"], check=True)
    served = export("--listen", "127.0.0.1:0", "--interval", "0.2", "--rescan", "0.3",
                    str(tmp_path))

    def dbs() -> set[str]:
        return {labels["db"] for labels, _ in samples(served.get("/metrics")[1])["waltui_up"]}

    def settles(expected: set[str]) -> set[str]:
        deadline = time.monotonic() + 15
        while (seen := dbs()) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        return seen

    assert settles({str(first)}) == {str(first)}
    subprocess.run(["sqlite3", str(second), "PRAGMA journal_mode=wal;"], check=True)
    assert settles({str(first), str(second)}) == {str(first), str(second)}
    first.unlink()
    assert settles({str(second)}) == {str(second)}


def prometheus_query(base: str, query: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        result: list[dict[str, Any]] = json.loads(response.read())["data"]["result"]
        return result


@needs_prometheus
def test_prometheus_scrapes_export_and_the_starvation_alert_fires(tmp_path, spawn, export):
    """The README's path end to end: a real Prometheus scrapes `waltui export`, holds the
    reading's number, and the example rule fires for a reader that pins the WAL. The rules'
    `for:` waits are shortened to a second: the expressions are the shipped ones."""
    db = tmp_path / "agent.db"
    starved(db, spawn)
    served = export("--listen", "127.0.0.1:0", "--interval", "0.5", str(db))
    rules = tmp_path / "waltui-rules.yml"
    rules.write_text(re.sub(r"for: \w+", "for: 1s", RULES.read_text()))
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{rules}]\n"
        "scrape_configs:\n"
        f"  - job_name: waltui\n    static_configs: [{{targets: ['{served.url[7:]}']}}]\n")
    engine = subprocess.Popen(
        [some(PROMETHEUS), f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        pending: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (pending and alerts):
            time.sleep(1)
            try:
                pending = prometheus_query(base, f'sqlite_wal_pending_frames{{db="{db}"}}')
                alerts = prometheus_query(base, 'ALERTS{alertname="SQLiteCheckpointStarvation",'
                                                'alertstate="firing"}')
            except (urllib.error.URLError, ConnectionError):
                continue  # still starting
        assert pending and float(pending[0]["value"][1]) == frames_pending(db) > 1000, pending
        assert alerts, "the starvation alert did not fire within 60 s"
        assert alerts[0]["metric"]["db"] == str(db)
        assert alerts[0]["metric"]["severity"] in ("warning", "critical")
    finally:
        engine.terminate()
        engine.wait(timeout=20)
