"""The headless collector: probes and health rules run here, away from any UI. Consumers
(the dashboard, `check`, `snapshot`) talk to it through a CollectorClient and keep their
own history (consumer.Readings). Imports nothing of Textual or Rich (tests/test_layers.py).

The transport (pickle, subprocess, the client threads) is imported on first use of one of
its names: `snapshot` and `check` run a Poller in their own thread and never need it."""

from typing import TYPE_CHECKING

from waltui.collector.commands import Batch, Change
from waltui.collector.consumer import Readings, Update
from waltui.collector.core import Collector, Poller, raise_fd_limit

if TYPE_CHECKING:
    from waltui.collector.transport import (
        CollectorClient,
        Frame,
        ProcessClient,
        ThreadClient,
        make_client,
    )

_TRANSPORT = frozenset({"CollectorClient", "Frame", "ProcessClient", "ThreadClient",
                        "make_client"})


def __getattr__(name: str) -> object:
    if name in _TRANSPORT:
        from waltui.collector import transport

        return getattr(transport, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Batch", "Change", "Collector", "CollectorClient", "Frame", "Poller", "ProcessClient",
           "Readings", "ThreadClient", "Update", "make_client", "raise_fd_limit"]
