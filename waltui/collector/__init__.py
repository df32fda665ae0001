"""The headless collector: probes and health rules run here, away from any UI. Consumers
(the dashboard, `check`, `snapshot`) talk to it through a CollectorClient and keep their
own history (consumer.Readings). Imports nothing of Textual or Rich (tests/test_layers.py)."""

from waltui.collector.commands import Batch, Change
from waltui.collector.consumer import Readings, Update
from waltui.collector.core import Collector, Poller, raise_fd_limit
from waltui.collector.transport import (
           CollectorClient,
           Frame,
           ProcessClient,
           ThreadClient,
           make_client,
)

__all__ = ["Batch", "Change", "Collector", "CollectorClient", "Frame", "Poller", "ProcessClient",
           "Readings", "ThreadClient", "Update", "make_client", "raise_fd_limit"]
