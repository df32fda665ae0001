"""The keys that act on a database: checkpoint, integrity, pragmas, recovery, signalling the
culprit, copying. A mixin of the app: each asks, confirms, runs in a worker that posts a
message, and says what it did. Each goes through Performer.gate (the one read-only check)
and Performer.perform (one worker shape, one ActionFinished). The screens each opens are
imported when it is first asked for: the dashboard's first paint does not wait for them."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from waltui.actions.blame import checkpoint_outlook
from waltui.history import describe_checkpoint
from waltui.model import Reading

if TYPE_CHECKING:
    from waltui.actions.signals import Target
from waltui.naming import lock_words, named_process
from waltui.ui.perform import Outcome, Performer
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import SIGNAL_HINT, CheckpointScreen
from waltui.ui.widgets.locks_table import identity
from waltui.units import visible


class DatabaseActions(Performer):
    """Mixed into WaltuiApp; relies on its config, latest, collector, notify, event,
    gate, perform, _need_selection and _need_answering."""

    def action_copy(self) -> None:
        """OSC 52: the terminal (tmux, most SSH clients' terminals) takes it to the local
        clipboard, so a pid or path can be pasted on the operator's own machine."""
        path = self._need_selection()
        if path is None:
            return
        text = path
        choice = self.screen.lock_choice() if isinstance(self.screen, DetailScreen) else None
        if choice is not None:
            pid, info = choice.held.lock.pid, choice.held.process
            text = f"{pid} {info.cmdline}" if info and info.cmdline else str(pid)
        # What the screen shows, escapes and all: a raw ESC, BEL, newline or the
        # bracketed-paste end marker in a name would reach the operator's shell on paste
        text = visible(text)
        self.copy_to_clipboard(text)
        self.notify(f"copied: {text}", timeout=3, markup=False)

    def action_checkpoint(self) -> None:
        path = self.gate("checkpoint")
        if path is None:
            return

        def chosen(mode: str | None) -> None:
            if mode:
                self.event(path, "action", f"{mode} checkpoint started")
                self.perform("checkpoint", path, lambda cancelled: self._checkpoint(
                    path, mode, cancelled))

        update = self.latest.get(path)
        outlook = checkpoint_outlook(update.reading) if update is not None else ""
        self.push_screen(CheckpointScreen(self.name_of(path), self.config.checkpoint_deadline,
                                          outlook),
                         chosen)

    def action_terminate(self) -> None:
        self._signal_culprit("terminate", signal.SIGTERM)

    def action_kill(self) -> None:
        self._signal_culprit("kill", signal.SIGKILL)

    def _signal_culprit(self, name: str, sig: signal.Signals) -> None:
        """The lock holder chosen in the Locks pane, else the database's culprit, as the
        reading on screen shows it; asked once for SIGTERM, twice for SIGKILL, refused
        under --read-only. The target is checked again at each yes and when sending.
        culprit.py (fdinfo, lock tables) loads with the first k, not with the dashboard."""
        from waltui.actions.signals import CONSEQUENCES, code_lines, send, still_the_one

        path = self.gate(name, answering=False)
        update = self.latest.get(path) if path is not None else None
        if path is None or update is None:
            return
        target = self._signal_target(update.reading)
        if isinstance(target, str):
            self.refuse(path, target)
            return
        chosen = target

        def recheck() -> str | None:
            why = still_the_one(chosen)
            if why is not None:
                self.event(path, "action", why)
            return why

        body = f"It holds {chosen.holds}."
        if chosen.evidence is not None:  # outside text, each line made visible on its own
            body += "\n" + "\n".join(visible(line) for line in chosen.evidence.lines())
        body += f"\n\n{CONSEQUENCES[sig]}"
        if chosen.sharers:
            body += (f"\n\nThat lock is on an open file description that pids "
                     f"{', '.join(map(str, chosen.sharers))} also hold: it stays until "
                     "they close it too.")
        self.confirm(name, f"Send {sig.name} to {chosen.label}?", body,
                     lambda: self.perform(name, path, lambda cancelled: Outcome(send(chosen, sig))),
                     SIGNAL_HINT, recheck, lambda: code_lines(chosen))

    def _signal_target(self, reading: Reading) -> Target | str:
        """Whom a signal would reach, from the reading on screen, or why nobody."""
        from waltui.actions.signals import culprit, describe

        choice = self.screen.lock_choice() if isinstance(self.screen, DetailScreen) else None
        if choice is not None:
            held = next((h for h in reading.held_locks if identity(h) == choice.key), None)
            if held is None or not choice.present:
                return (f"nothing sent: the lock holder you chose, "
                        f"{named_process(reading, choice.held.lock.pid)}, no longer holds "
                        f"{lock_words(reading, choice.held.lock)}; choose again")
        else:
            held = culprit(reading)
            if held is None:
                return ("no process to signal: no process visible here holds a lock that "
                        "blocks others (and waltui never signals itself)")
        return describe(reading, held)

    def _checkpoint(self, path: str, mode: str, cancelled: Callable[[], bool]) -> Outcome:
        from waltui.actions.database import (
            checkpoint,  # SQLite's side, in the worker: not at start
        )

        result = checkpoint(path, mode, deadline=self.config.checkpoint_deadline,
                            journal_size_limit=self.config.checkpoint_journal_size_limit,
                            cancelled=cancelled)
        return Outcome(describe_checkpoint(result),
                       "information" if result.outcome == "done" else "warning", result)

    def action_integrity(self) -> None:
        from waltui.ui.screens.integrity import IntegrityScreen
        path = self.gate("integrity")
        if path is not None:
            update = self.latest.get(path)
            frame = update.reading.wal_index.max_frame if update and update.reading.wal_index \
                else None
            self.push_screen(IntegrityScreen(path, self._immutable(path), frame))

    def action_pragmas(self) -> None:
        from waltui.ui.screens.pragmas import PragmaScreen
        path = self.gate("pragmas")
        if path is not None:
            self.push_screen(PragmaScreen(path, self._immutable(path)))

    def action_recover(self) -> None:
        from waltui.ui.screens.recovery import RecoveryScreen
        path = self.gate("recover")
        if path is None:
            return
        from waltui.actions.recovery import held_by

        update = self.latest.get(path)
        if update is not None and (held := held_by(update.reading)) is not None:
            self.refuse(path, f"guided recovery not begun: {held}")  # nothing to confirm
            return
        body = ("1. list every process that holds the database; stop here if any does\n"
                "2. TRUNCATE checkpoint (writes: copies the WAL into the database, empties "
                "the -wal)\n3. integrity_check\nIt never deletes a -wal or -shm file.")

        def run() -> None:
            self.push_screen(RecoveryScreen(path, self.config.read_only,
                                            self.config.checkpoint_deadline))

        self.confirm("recover", f"Guided recovery of {self.name_of(path)}?", body, run)
