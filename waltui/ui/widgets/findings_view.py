"""The current findings of one database, worst first, each with its evidence and fix."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from waltui.model import Finding
from waltui.ui.format import finding_text
from waltui.ui.palette import Themed


class FindingsView(Themed, Static):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Finding, ...] | None = None

    def restyle(self) -> None:
        if self._shown is not None:
            findings, self._shown = self._shown, None
            self.show(findings)

    def show(self, findings: tuple[Finding, ...]) -> None:
        if findings == self._shown:
            return
        self._shown = findings
        if not findings:
            self.update(Text("no findings: healthy", style=self.palette.ok))
            return
        text = Text()
        for finding in findings:
            text.append_text(finding_text(finding, self.palette))
        self.update(text)
