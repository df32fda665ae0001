"""The exporter's routes: /metrics (in the format the scraper asks for, through
prometheus_client's own content negotiation, gzipped when it accepts gzip), /findings,
/runbook (what the alert rules' runbook_url points at) and /, behind the credentials. A
body is rendered at most once a second for each batch and format: 500 scrapes at once
render once (13,000 series are ~60 ms of the interpreter)."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Callable

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from waltui.exporters.http import Handler, Request, Response, text
from waltui.exporters.server import LANDING, Exporter, findings_text
from waltui.exporters.web_config import Authentication
from waltui.outputs.prometheus import registry_for
from waltui.outputs.runbook import runbook_html

RUNBOOK_PAGE = runbook_html()


class Rendered:
    def __init__(self, exporter: Exporter, registry: CollectorRegistry) -> None:
        self.exporter, self.registry = exporter, registry
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, bool], tuple[int, float, bytes]] = {}

    def body(self, encoder: Callable[[CollectorRegistry], bytes], content_type: str,
             gzipped: bool) -> bytes:
        with self._lock:  # one render at a time; those waiting take what it made
            key, now = (content_type, gzipped), time.monotonic()
            kept = self._kept.get(key)
            if kept is not None and kept[0] == self.exporter.generation and now - kept[1] < 1:
                return kept[2]
            generation = self.exporter.generation
            body = encoder(self.registry)
            if gzipped:
                body = gzip.compress(body, 5)
            self._kept[key] = (generation, now, body)
            return body


def make_handler(exporter: Exporter, credentials: Authentication,
                 headers: dict[str, str] | None = None) -> Handler:
    rendered = Rendered(exporter, registry_for(exporter.state))
    extra = dict(headers or {})

    async def handle(request: Request) -> Response:
        if not await credentials.accept(request.header("authorization")):
            return text(401, "authorization required",
                        **{"WWW-Authenticate": credentials.challenge, **extra})
        if request.path == "/metrics":
            encoder, content_type = choose_encoder(request.header("accept"))
            gzipped = "gzip" in request.header("accept-encoding")
            body = await asyncio.get_running_loop().run_in_executor(
                None, rendered.body, encoder, content_type, gzipped)
            return Response(200, body, content_type,
                            {**({"Content-Encoding": "gzip"} if gzipped else {}), **extra})
        if request.path == "/findings":  # /proc and py-spy reads: off the event loop
            from waltui.probes.culprit import holders_evidence

            page = await asyncio.get_running_loop().run_in_executor(
                None, findings_text, exporter.state(), holders_evidence)
            return Response(200, page.encode(), headers=extra)
        if request.path == "/runbook":
            return Response(200, RUNBOOK_PAGE, "text/html; charset=utf-8", headers=extra)
        if request.path == "/":
            return Response(200, LANDING, headers=extra)
        return Response(404, b"not found: the metrics are at /metrics\n", headers=extra)

    return handle
