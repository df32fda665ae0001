"""The exporter's HTTP side under load and from a browser, against the real server: 500
scrapes at once, 5,000 clients that never finish a request, a page that rebinds a name to
127.0.0.1, HEAD, OpenMetrics, and TLS with bcrypt basic auth from an exporter-toolkit web
config file."""

from __future__ import annotations

import asyncio
import base64
import os
import resource
import socket
import ssl
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from tests.test_hostile import CORPUS
from tests.test_prometheus import export, samples  # noqa: F401  (the fixture)

pytestmark = pytest.mark.system


@pytest.fixture
def served(tmp_path, live_db, export):  # noqa: F811
    db, _app = live_db
    return export("--listen", "127.0.0.1:0", "--interval", "0.5", str(db))


async def fetch(port: int, request: bytes, timeout: float = 30.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def get(path: str = "/metrics", host: str = "127.0.0.1", method: str = "GET",
        **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in
                                                             headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_500_scrapes_at_once_are_all_answered(served):
    async def all_of_them() -> list[bytes]:
        return await asyncio.gather(*(fetch(served.port, get()) for _ in range(500)))

    started = time.monotonic()
    answers = asyncio.run(all_of_them())
    assert time.monotonic() - started < 30
    assert [status(a) for a in answers] == [200] * 500
    assert all(b"sqlite_wal_frames" in a for a in answers)


def test_5000_clients_that_never_finish_a_request_hold_no_thread_and_are_dropped(served):
    """Each sends half a request and waits. The exporter keeps its few threads and a
    bounded heap, closes every one of them within its header timeout, and answers the next
    scrape."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 12000)), hard))
    process = psutil.Process(served.proc.pid)
    threads_before, rss_before = process.num_threads(), process.memory_info().rss
    slow = []
    for _ in range(5000):
        sock = socket.create_connection(("127.0.0.1", served.port))
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never the blank line
        slow.append(sock)
    try:
        time.sleep(1.0)  # all of them are in the exporter now (its threads, its heap)
        assert process.num_threads() <= threads_before + 2
        assert process.memory_info().rss - rss_before < 120 * 1024 * 1024
        deadline = time.monotonic() + 30
        for sock in slow:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while sock.recv(4096):
                    pass  # a 503 (over the connection cap), then the close
            except (TimeoutError, ConnectionResetError):
                pass
        assert time.monotonic() < deadline, "slow clients were not dropped in time"
    finally:
        for sock in slow:
            sock.close()
    assert status(asyncio.run(fetch(served.port, get()))) == 200


def test_only_known_host_names_are_answered(served, live_db, export):  # noqa: F811
    """A page that rebinds evil.example to 127.0.0.1 sends Host: evil.example: refused.
    IP literals, localhost and this host's name are answered; --allow-host adds a name."""
    for host, expected in [*CORPUS["hosts"], (socket.gethostname(), 200)]:
        assert status(asyncio.run(fetch(served.port, get(host=host)))) == expected, host
    db, _app = live_db
    named = export("--listen", "127.0.0.1:0", "--allow-host", "metrics.internal", str(db))
    assert status(asyncio.run(fetch(named.port, get(host="metrics.internal")))) == 200


def first_poll_served(port: int) -> bytes:
    """A scrape once the collector's first cycle is in (the banner comes before it)."""
    deadline = time.monotonic() + 30
    while b"\nwaltui_last_poll_timestamp_seconds " not in (body := asyncio.run(fetch(port, get()))):
        assert time.monotonic() < deadline, "no poll reached the exporter"
        time.sleep(0.1)
    return body


def test_head_openmetrics_gzip_and_other_methods(served):
    body = first_poll_served(served.port)
    head = asyncio.run(fetch(served.port, get(method="HEAD")))
    header, _, rest = head.partition(b"\r\n\r\n")
    assert status(head) == 200 and rest == b""
    length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    assert length > 0 and b"text/plain; version=0.0.4" in header
    assert status(body) == 200
    open_metrics = asyncio.run(fetch(served.port, get(
        Accept="application/openmetrics-text; version=1.0.0,text/plain;q=0.5")))
    assert b"application/openmetrics-text" in open_metrics.partition(b"\r\n\r\n")[0]
    assert open_metrics.rstrip().endswith(b"# EOF")
    assert status(asyncio.run(fetch(served.port, get(method="POST")))) == 405
    assert status(asyncio.run(fetch(served.port, b"NOT HTTP\r\n\r\n"))) == 400
    found = samples(body.partition(b"\r\n\r\n")[2].decode())
    [(_, when)] = found["waltui_last_poll_timestamp_seconds"]
    assert abs(time.time() - when) < 30


def test_a_stale_collector_is_not_served_as_live(reader_change):
    """A collector that has finished no cycle for three intervals: every database is
    waltui_up 0 and its old values are not served."""
    from waltui.outputs.prometheus import Exported, ExportState, families

    change = reader_change
    now = change.reading.taken_at + 1
    state = ExportState({change.path: Exported(change.reading, change.findings)},
                        last_poll_at=now - 1, interval=1.0)
    fresh = {f.name: f.samples for f in families(state, now)}
    assert fresh["waltui_up"][0].value == 1 and fresh["sqlite_wal_frames"]
    stale = {f.name: f.samples for f in families(replace(state, last_poll_at=now - 60), now)}
    assert stale["waltui_up"][0].value == 0 and not stale["sqlite_wal_frames"]
    assert stale["waltui_last_poll_timestamp_seconds"][0].value == now - 60


@pytest.fixture
def tls_files(tmp_path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_tls_and_bcrypt_basic_auth_from_an_exporter_toolkit_web_config(tmp_path, live_db,
                                                                      export, tls_files):  # noqa: F811
    import bcrypt

    cert, key = tls_files
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    config = tmp_path / "web.yml"
    config.write_text(f"tls_server_config:\n  cert_file: {cert.name}\n  key_file: {key.name}\n"
                      f"basic_auth_users:\n  prometheus: '{hashed}'\n"
                      "http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    db, _app = live_db
    served = export("--listen", "127.0.0.1:0", "--web-config-file", str(config), str(db))
    assert served.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))

    async def over_tls(request: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port, ssl=context)
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        return answer

    good = base64.b64encode(b"prometheus:s3cret").decode()
    bad = base64.b64encode(b"prometheus:guess").decode()
    answer = asyncio.run(over_tls(get(Authorization=f"Basic {good}")))
    assert status(answer) == 200 and b"X-Frame-Options: deny" in answer
    assert status(asyncio.run(over_tls(get(Authorization=f"Basic {bad}")))) == 401
    assert status(asyncio.run(over_tls(get()))) == 401
    try:
        plain = asyncio.run(fetch(served.port, get(), timeout=5))  # plain HTTP: no TLS
    except (ConnectionError, OSError):
        plain = b""
    assert not plain.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("text, said", [
    ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
     "tls_server_config.cert_file"),
    ("basic_auth_users:\n  alice: plaintext\n", "a bcrypt hash"),
    ("tls_server_confg: {}\n", "unknown key tls_server_confg"),
    ("- a list\n", "a YAML mapping"),
    ("{{{{", "not a readable web config"),
])
def test_a_bad_web_config_is_one_line_and_exit_78(tmp_path, live_db, text, said):
    from tests.test_prometheus import waltui

    config = tmp_path / "web.yml"
    config.write_text(text)
    db, _app = live_db
    done = waltui("export", "--listen", "127.0.0.1:0", "--web-config-file", str(config), str(db))
    assert done.returncode == 78 and said in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_fifo_as_web_config_or_token_file_is_refused_not_waited_on(tmp_path, live_db):
    from tests.test_prometheus import waltui

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    db, _app = live_db
    for option in ("--web-config-file", "--bearer-token-file"):
        done = waltui("export", "--listen", "127.0.0.1:0", option, str(fifo), str(db))
        assert done.returncode in (64, 78) and "not a regular file" in done.stderr
