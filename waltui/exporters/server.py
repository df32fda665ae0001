"""`waltui export`: a headless collector behind an HTTP /metrics endpoint.

The collector thread polls at its own interval and keeps only the latest of each database;
a scrape renders those (it never polls, so a scrape every second costs a render, not a poll,
and a slow database never makes a scrape time out). Loopback by default; another address
needs credentials (--web-config-file with basic_auth_users and TLS, or a bearer token or
basic auth read from a file), or an explicit --no-auth. The HTTP side is exporters/http.py,
the routes exporters/scrape.py."""

from __future__ import annotations

import glob
import ipaddress
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable
from functools import partial

from waltui.collector import Batch, ThreadClient, raise_fd_limit
from waltui.config import Config
from waltui.evidence import RoleEvidence
from waltui.exporters.http import AllowedHosts, HttpServer
from waltui.exporters.web_config import Authentication, WebConfig, WebConfigError, peer_allowed
from waltui.exporters.web_config import load as load_web_config
from waltui.model import Reading
from waltui.outputs.prometheus import Exported, ExportState
from waltui.probes.discovery import discover
from waltui.support import exits
from waltui.support.small_files import read_small
from waltui.units import visible

DEFAULT_LISTEN = "127.0.0.1:9851"


class ExportError(Exception):
    """A mistake in the export options: one line to the user, exit 64."""


def read_secret(path: str, what: str) -> str:
    """The first line of a file (a regular file, read without blocking and within a cap);
    a secret anyone on the host can read is said, not used silently."""
    try:
        secret = read_small(path).decode("utf-8").partition("\n")[0].strip()
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
                    no_auth: bool, web: WebConfig | None = None) -> Authentication:
    if bearer_file and basic_file:
        raise ExportError("give --bearer-token-file or --basic-auth-file, not both")
    credentials = Authentication(
        bearer=read_secret(bearer_file, "bearer token") if bearer_file else None,
        basic=read_secret(basic_file, "basic auth") if basic_file else None,
        users=dict(web.users) if web is not None else {})
    if not credentials.required and not is_loopback(host) and not no_auth:
        raise ExportError(f"{visible(host)} is not a loopback address: anyone who can reach it "
                          "would read your database paths; add --web-config-file FILE "
                          "(basic_auth_users, and TLS), --bearer-token-file FILE or "
                          "--basic-auth-file FILE (or --no-auth to serve it openly)")
    if credentials.required and not is_loopback(host) and (web is None or web.context is None):
        print("waltui export: warning: credentials travel in clear without TLS "
              "(tls_server_config in --web-config-file)", file=sys.stderr)
    return credentials


class Exporter:
    """The collector's batches in, an ExportState a scrape can read out."""

    def __init__(self, config: Config) -> None:
        self._lock = threading.Lock()
        self._state = ExportState(interval=config.interval)
        self.client = ThreadClient(config, self._on_batch, self._on_notice)
        self.generation = 0  # moves with every batch: what a rendered scrape is kept by

    def _on_batch(self, batch: Batch) -> None:
        with self._lock:
            for path in batch.detached:
                self._state.databases.pop(path, None)
            for change in batch.changes:
                self._state.databases[change.path] = Exported(change.reading, change.findings)
            if batch.final:
                self._state.last_poll_at = batch.taken_at
            if batch.polled and batch.final:
                self._state.cycle_seconds = batch.cycle_seconds
            self.generation += 1

    def _on_notice(self, severity: str, text: str) -> None:
        print(f"waltui export: {severity}: {visible(text)}", file=sys.stderr)

    def state(self) -> ExportState:
        """A copy: a scrape renders outside the lock while the next batch lands."""
        with self._lock:
            return ExportState(dict(self._state.databases), Counter(self._state.checkpoints),
                               self._state.cycle_seconds, self._state.last_poll_at,
                               self._state.interval)

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


MAX_HOLDERS_DESCRIBED = 10  # a page an operator opens from an alert, not a /proc walk of all


def findings_text(state: ExportState,
                  holders: Callable[[Reading], tuple[RoleEvidence, ...]] | None = None) -> str:
    """What an alert links to: the finding with its evidence, which names the process (a pid
    never goes into a label), and with holders what each named process is doing now (the
    writer's and pinning readers' state, system call, parents and, for Python, its line)."""
    lines = []
    described = 0
    for path, exported in sorted(state.databases.items()):
        for finding in exported.findings:
            lines += [f"{visible(path)}", f"  {finding.severity.upper()} {finding.code}: "
                      f"{visible(finding.title)}", f"    evidence: {visible(finding.evidence)}",
                      f"    fix: {visible(finding.fix)}"]
        if holders is not None and exported.findings and described < MAX_HOLDERS_DESCRIBED:
            for holder in holders(exported.reading)[:MAX_HOLDERS_DESCRIBED - described]:
                described += 1
                lines += [f"    {holder.role} pid {holder.evidence.pid}: {visible(line)}"
                          for line in holder.lines()]
    return "\n".join(lines or [f"no findings on {len(state.databases)} database(s)"]) + "\n"


LANDING = (b"waltui exporter: the metrics are at /metrics, the findings with their evidence "
           b"at /findings, what to do about each at /runbook\n"
           b"(docs/fleet.md; alert rules: `waltui examples`)\n")


def run_export(paths: list[str], config: Config, *, listen: str, bearer_file: str | None,
               basic_file: str | None, no_auth: bool,
               sources: list[str] | None = None, rescan: float = 30.0,
               web_config: str | None = None, allow_hosts: tuple[str, ...] = ()) -> int:
    from waltui.exporters.scrape import make_handler

    try:
        web = load_web_config(web_config) if web_config else None
    except WebConfigError as exc:
        print(f"waltui export: {exc}", file=sys.stderr)
        return exits.CONFIG
    try:
        host, port = parse_listen(listen)
        credentials = credentials_for(host, bearer_file, basic_file, no_auth, web)
    except ExportError as exc:
        print(f"waltui export: {exc}", file=sys.stderr)
        return exits.USAGE
    for warning in web.warnings if web is not None else ():
        print(f"waltui export: warning: {warning}", file=sys.stderr)
    raise_fd_limit()
    exporter = Exporter(config)
    try:
        server = HttpServer(
            host, port, make_handler(exporter, credentials, web.headers if web else None),
            AllowedHosts.default(allow_hosts), web.context if web is not None else None,
            peer_check=partial(peer_allowed, allowed=web.allowed_sans)
            if web is not None and web.allowed_sans else None)
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
    scheme = "https" if web is not None and web.context is not None else "http"
    scope = ("loopback only: other hosts cannot scrape it (--listen ADDRESS:PORT with "
             "--web-config-file to serve them)" if is_loopback(host) else
             "authentication required" if credentials.required else "open to anyone (--no-auth)")
    print(f"waltui export: serving {scheme}://{where}:{bound_port}/metrics for {len(paths)} "
          f"database(s), polled every {config.interval:g} s; {scope}", file=sys.stderr,
          flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stopped.set()
        exporter.stop()
    return exits.OK
