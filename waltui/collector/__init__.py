"""The headless collector: probes and health rules run here, away from any UI. Consumers
(the dashboard, `check`, `snapshot`) talk to it through a CollectorClient and keep their
own history (consumer.Readings). Imports nothing of Textual or Rich (tests/test_layers.py).

Each part is imported on first use of one of its names. `snapshot` and `check` run a
Poller in their own thread and never need the loop, the consumer's side or the transport
(pickle, subprocess, the client threads); the dashboard, whose collector runs in a child
process, never needs the Poller, the probes or the rules."""

from typing import TYPE_CHECKING

from waltui.collector.changes import Batch, Change

if TYPE_CHECKING:
    from waltui.collector.consumer import Readings, Update
    from waltui.collector.core import Poller, raise_fd_limit
    from waltui.collector.loop import Collector
    from waltui.collector.transport import (
        CollectorClient,
        Frame,
        ProcessClient,
        ThreadClient,
        make_client,
    )

_LAZY = {"Collector": "loop", "Readings": "consumer", "Update": "consumer",
         "Poller": "core", "raise_fd_limit": "core",
         **dict.fromkeys(("CollectorClient", "Frame", "ProcessClient", "ThreadClient",
                          "make_client"), "transport")}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"waltui.collector.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Batch", "Change", "Collector", "CollectorClient", "Frame", "Poller", "ProcessClient",
           "Readings", "ThreadClient", "Update", "make_client", "raise_fd_limit"]
