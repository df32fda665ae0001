"""`waltui export`: a headless collector behind an HTTP /metrics endpoint.

The collector thread polls at its own interval and keeps only the latest of each database;
a scrape renders those (it never polls, so a scrape every second costs a render, not a poll,
and a slow database never makes a scrape time out). Loopback by default; another address
needs a bearer token or basic auth read from a file, or an explicit --no-auth."""

from __future__ import annotations

import base64
import glob
import gzip
import hmac
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from waltui import exits
from waltui.collector import Batch, ThreadClient, raise_fd_limit
from waltui.config import Config
from waltui.discovery import discover
from waltui.exporters.prometheus import Exported, ExportState, registry_for
from waltui.units import visible

DEFAULT_LISTEN = "127.0.0.1:9851"


class ExportError(Exception):
    """A mistake in the export options: one line to the user, exit 64."""


@dataclass(frozen=True)
class Credentials:
    """What a request must present; none on loopback unless a file gives them."""

    bearer: str | None = None
    basic: str | None = None  # "user:password"

    @property
    def required(self) -> bool:
        return self.bearer is not None or self.basic is not None

    def accept(self, header: str | None) -> bool:
        if not self.required:
            return True
        scheme, _, value = (header or "").partition(" ")
        if self.bearer is not None and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.bearer.encode())
        if self.basic is not None and scheme.lower() == "basic":
            try:
                given = base64.b64decode(value.strip(), validate=True)
            except ValueError:
                return False
            return hmac.compare_digest(given, self.basic.encode())
        return False


def read_secret(path: str, what: str) -> str:
    """The first line of a file; a secret anyone on the host can read is said, not used
    silently."""
    try:
        with open(path, encoding="utf-8") as handle:
            secret = handle.readline().strip()
        mode = os.stat(path).st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read the {what} file {visible(path)}: {visible(exc)}") \
            from exc
    if not secret:
        raise ExportError(f"the {what} file {visible(path)} is empty")
    if what == "basic auth" and ":" not in secret:
        raise ExportError(f"the basic auth file {visible(path)} must hold user:password")
    if mode & 0o077:
        print(f"waltui export: warning: {visible(path)} can be read by other users "
              f"(chmod 600 it)", file=sys.stderr)
    return secret


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT (port 0: any free one, said on start); a port alone is not
    accepted: say which address."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ExportError(f"--listen wants HOST:PORT (like {DEFAULT_LISTEN}), "
                          f"not {visible(text)}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials_for(host: str, bearer_file: str | None, basic_file: str | None,
                    no_auth: bool) -> Credentials:
    if bearer_file and basic_file:
        raise ExportError("give --bearer-token-file or --basic-auth-file, not both")
    credentials = Credentials(
        bearer=read_secret(bearer_file, "bearer token") if bearer_file else None,
        basic=read_secret(basic_file, "basic auth") if basic_file else None)
    if not credentials.required and not is_loopback(host) and not no_auth:
        raise ExportError(f"{visible(host)} is not a loopback address: anyone who can reach it "
                          "would read your database paths; add --bearer-token-file FILE or "
                          "--basic-auth-file FILE (or --no-auth to serve it openly)")
    return credentials


class Exporter:
    """The collector's batches in, an ExportState a scrape can read out."""

    def __init__(self, config: Config, lock_source: str = "auto") -> None:
        self._lock = threading.Lock()
        self._state = ExportState()
        self.client = ThreadClient(config, self._on_batch, self._on_notice, lock_source)

    def _on_batch(self, batch: Batch) -> None:
        with self._lock:
            for path in batch.detached:
                self._state.databases.pop(path, None)
            for change in batch.changes:
                self._state.databases[change.path] = Exported(change.reading, change.findings)
            if batch.polled and batch.final:
                self._state.cycle_seconds = batch.cycle_seconds

    def _on_notice(self, severity: str, text: str) -> None:
        print(f"waltui export: {severity}: {visible(text)}", file=sys.stderr)

    def state(self) -> ExportState:
        """A copy: a scrape renders outside the lock while the next batch lands."""
        with self._lock:
            return ExportState(dict(self._state.databases), Counter(self._state.checkpoints),
                               self._state.cycle_seconds)

    def start(self, paths: list[str]) -> None:
        for path in paths:
            self.client.attach(path)
        self.client.start()

    def rescan(self, sources: list[str], every: float, stopped: threading.Event) -> None:
        """Agents come and go: a directory or glob is looked at again, a new database
        attached, one whose file is gone detached (a plain file argument always stays)."""
        while not stopped.wait(every):
            now = discover(sources).paths
            for path in now:
                if path not in self.client.attached:
                    self.client.attach(path)
            for path in list(self.client.attached):
                if path not in now:
                    self.client.detach(path)

    def stop(self) -> None:
        self.client.stop()
        self.client.join(5.0)


def findings_text(state: ExportState) -> str:
    """What an alert links to: the finding with its evidence, which names the process (a pid
    never goes into a label)."""
    lines = []
    for path, exported in sorted(state.databases.items()):
        for finding in exported.findings:
            lines += [f"{visible(path)}", f"  {finding.severity.upper()} {finding.code}: "
                      f"{visible(finding.title)}", f"    evidence: {visible(finding.evidence)}",
                      f"    fix: {visible(finding.fix)}"]
    return "\n".join(lines or [f"no findings on {len(state.databases)} database(s)"]) + "\n"


LANDING = (b"waltui exporter: the metrics are at /metrics, the findings with their evidence "
           b"at /findings\n"
           b"(README: \"Watching a fleet\"; alert rules in examples/prometheus)\n")


def make_handler(exporter: Exporter, credentials: Credentials) -> type[BaseHTTPRequestHandler]:
    registry = registry_for(exporter.state)

    class Handler(BaseHTTPRequestHandler):
        server_version = "waltui-export"

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            if not credentials.accept(self.headers.get("Authorization")):
                self._send(401, b"authorization required\n", "text/plain; charset=utf-8",
                           {"WWW-Authenticate": "Bearer" if credentials.bearer else
                            'Basic realm="waltui"'})
                return
            route = self.path.split("?", 1)[0]
            if route == "/metrics":
                body = generate_latest(registry)
                extra = {}
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    body, extra = gzip.compress(body, 5), {"Content-Encoding": "gzip"}
                self._send(200, body, CONTENT_TYPE_LATEST, extra)
            elif route == "/findings":
                self._send(200, findings_text(exporter.state()).encode(),
                           "text/plain; charset=utf-8")
            elif route == "/":
                self._send(200, LANDING, "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found: the metrics are at /metrics\n",
                           "text/plain; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every 15 s is not news; errors reach the client as statuses

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def run_export(paths: list[str], config: Config, *, listen: str, bearer_file: str | None,
               basic_file: str | None, no_auth: bool, lock_source: str = "auto",
               sources: list[str] | None = None, rescan: float = 30.0) -> int:
    try:
        host, port = parse_listen(listen)
        credentials = credentials_for(host, bearer_file, basic_file, no_auth)
    except ExportError as exc:
        print(f"waltui export: {exc}", file=sys.stderr)
        return exits.USAGE
    raise_fd_limit()
    exporter = Exporter(config, lock_source)
    try:
        server = _Server((host, port), make_handler(exporter, credentials))
    except OSError as exc:
        print(f"waltui export: cannot listen on {visible(listen)}: {visible(exc.strerror or exc)}",
              file=sys.stderr)
        return exits.UNAVAILABLE
    exporter.start(paths)
    stopped = threading.Event()
    if rescan > 0 and sources and any(os.path.isdir(s) or glob.has_magic(s) for s in sources):
        threading.Thread(target=exporter.rescan, args=(sources, rescan, stopped),
                         name="waltui-rescan", daemon=True).start()
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    where = f"[{bound_host}]" if ":" in bound_host else bound_host
    scope = ("loopback only: other hosts cannot scrape it (--listen ADDRESS:PORT with "
             "--bearer-token-file to serve them)" if is_loopback(host) else
             "authentication required" if credentials.required else "open to anyone (--no-auth)")
    print(f"waltui export: serving http://{where}:{bound_port}/metrics for {len(paths)} "
          f"database(s), polled every {config.interval:g} s; {scope}", file=sys.stderr,
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        stopped.set()
        server.server_close()
        exporter.stop()
    return exits.OK
