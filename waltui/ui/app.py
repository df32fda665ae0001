"""The Textual app: composes screens, binds keys to actions, receives typed messages.

It renders and dispatches only. Polling runs in the collector (a child process by default;
its batches arrive as BatchArrived, and enter a slice at a time: ui/batch_intake.py);
actions run through ui/perform.py in worker threads and end with one ActionFinished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from waltui.actions.operations import OPERATIONS
from waltui.collector import Update, make_client
from waltui.config import Config
from waltui.keys import effective_key
from waltui.support import exits
from waltui.support.heap import collect_young, tune_collector
from waltui.ui.announcing import Announcing
from waltui.ui.attaching import Attaching
from waltui.ui.batch_intake import BatchIntake
from waltui.ui.collector_health import CollectorHealth
from waltui.ui.database_actions import DatabaseActions
from waltui.ui.escaped_keys import EscapedKeys
from waltui.ui.format import worst
from waltui.ui.keymap import KEYS, bindings
from waltui.ui.messages import (
    ActionFinished,
    ActionMessage,
    ActionProgress,
    BatchArrived,
    CollectorNotice,
    PollResults,
    ReplayReset,
)
from waltui.ui.palette import ThemedStatic
from waltui.ui.remembered import RememberedSettings
from waltui.ui.replay_controls import ReplayControls
from waltui.ui.screens.detail import PANE_OF_FINDING, DetailScreen
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.ui.screens.overview import OverviewScreen
from waltui.ui.state import DashboardState
from waltui.ui.status_line import status_text
from waltui.ui.terminal_watch import TerminalWatch
from waltui.ui.widgets.overview_table import OverviewTable
from waltui.ui.widgets.timeline import ReplayTimeline, timeline_text

if TYPE_CHECKING:  # recordings: imported where `replay` or --record uses them, not at start
    from waltui.recording.reader import RecordedEvent, Recording
    from waltui.recording.writer import Recorder

# Screens other than the overview and detail are imported where they are opened: the first
# paint does not wait for them.
ATTACH_LOGGED_EACH = 20  # more databases on the command line: one "attached" line for all
SCREEN_GARBAGE_AFTER = 0.15  # s: a changed screen took up to ~90 ms to draw on a loaded host
INTERVAL_STEPS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class WaltuiApp(BatchIntake, ReplayControls, Announcing, RememberedSettings, DatabaseActions,
                CollectorHealth, Attaching, EscapedKeys, App[None]):
    CSS_PATH = "waltui.tcss"
    TITLE = "waltui"
    BINDINGS = bindings()  # type: ignore[assignment]  # a list of Binding is one of its forms

    def __init__(self, paths: list[str], config: Config, *, poll: bool = True,
                 on_exit: Callable[[], None] | None = None, keep_settings: bool = True,
                 notes: Iterable[str] = (), transport: str | None = None,
                 recorder: Recorder | None = None, replay: Recording | None = None) -> None:
        """notes: what the command line's directories left out, for the event log;
        recorder: where batches and events are also written (--record); replay: a recording
        shown instead of live databases (`waltui replay`)."""
        super().__init__()
        if replay is not None:
            from waltui.recording.replay import ReplayClient

            paths = []  # each appears with the first poll the recording has of it
            config = replace(config, read_only=True, read_only_why="this is a recording")
        self.initial_notes = list(notes)
        self.keep_settings = keep_settings  # False: neither read nor write the state file
        self.config = config
        self.initial_paths = paths
        self._detached: list[str] = []  # Attaching: what u attaches again
        self.state = DashboardState()  # attached, latest, history, events: one place
        self.init_intake()
        self.poll_enabled = poll
        self.recorder = recorder
        if recorder is not None:
            recorder.on_failure = lambda text: self._notice_from_collector("error", text)
        if replay is not None:
            self.collector = ReplayClient(
                replay, self._batch_from_collector, self._notice_from_collector,
                self._event_from_replay, self._reset_from_replay,
                lambda text: self.call_from_thread(self.exit, None, exits.DATA_ERROR))
            self.state.clock = lambda: self.collector.shown_at  # type: ignore[attr-defined]
        else:
            self.collector = make_client(transport or config.collector, config,
                                         self._batch_from_collector,
                                         self._notice_from_collector,
                                         on_frame=self._frame_from_collector)
        self._on_exit = on_exit
        self.terminal_watch = TerminalWatch(self, self.action_quit, self._clean_up)
        self.started_at = time.time()
        self._stale = False  # the status line says STALE (data_age)

    # --- start and stop -----------------------------------------------------------------
    def get_default_screen(self) -> Screen[None]:
        return OverviewScreen()

    def on_mount(self) -> None:
        self.restore_settings()
        # A line a database for a few; for a directory of 1,000 agents one line, so the
        # log (500 kept) still holds what happens next.
        each = len(self.initial_paths) <= ATTACH_LOGGED_EACH
        self._attach_paths(self.initial_paths, logged=each)
        if not each:
            self.event("", "attach", f"attached {len(self.initial_paths):,} databases",
                       recorded=False)
        for note in self.initial_notes:
            self.event("", "attach", note, recorded=False)
        self.call_after_refresh(self.restore_sort)
        if self.poll_enabled:
            self.collector.start()
        self.refresh_status()
        # Paused, no poll refreshes the status line: its "data Ns old" ages by this timer.
        self.set_interval(1.0, self._age_status)
        self.terminal_watch.start()  # a dropped SSH session must not leave a process behind
        self.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        self.set_timer(SCREEN_GARBAGE_AFTER, collect_young)  # once the new screen is drawn

    def on_unmount(self) -> None:
        self._clean_up()

    def action_quit(self) -> None:  # type: ignore[override]  # sync is enough
        self.collector.stop()
        self.terminal_watch.quitting()
        self.exit()

    def _clean_up(self) -> None:
        self.collector.stop()
        if self.poll_enabled:
            self.collector.join(2.0)  # a child that does not stop in time is killed
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self._on_exit is not None:
            self._on_exit()

    def _event_from_replay(self, event: RecordedEvent) -> None:  # the replay's thread
        self.post_message(BatchArrived(event))  # in order with the batches around it

    def _reset_from_replay(self) -> None:  # the replay's thread
        self.post_message(BatchArrived(ReplayReset()))

    def _notice_from_collector(self, severity: str, text: str) -> None:  # any thread
        self.post_message(CollectorNotice(severity, text))

    # --- messages -----------------------------------------------------------------------
    def on_collector_notice(self, message: CollectorNotice) -> None:
        self.announce("", "error" if message.severity == "error" else "warning",
                      f"collector: {message.text}", message.severity)

    def on_poll_results(self, message: PollResults) -> None:
        """Updates made elsewhere (a recording, the snapshots' frozen data)."""
        self.show_updates(self.state.put(message.updates))
        self._redraw_event_logs()

    def show_updates(self, updates: list[Update]) -> None:
        fresh = [u for u in updates if u.path in self.attached]
        if (table := self.overview_table) is not None:
            table.apply(fresh)
        screen = self.screen_stack[-1] if self.screen_stack else None  # none while closing
        if isinstance(screen, DetailScreen) and screen.path in self.latest:
            screen.show(self.latest[screen.path])
        self.refresh_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised (a bug, or a fault nobody foresaw) is an event on its
        database and on the status line; the app and every other database go on."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        what = f"{event.worker.name or event.worker.group} failed: {type(error).__name__}: {error}"
        self.event(self.selected_path() or "", "error", what)
        self.notify(what, severity="error", timeout=10)

    def on_action_progress(self, message: ActionProgress) -> None:
        self._took_effect(message)
        screen = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(screen, WorkerDialog) and screen.path == message.path:
            screen.progressed(message)  # a dialog that shows each step

    def on_action_finished(self, message: ActionFinished) -> None:
        self._took_effect(message)
        screen = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(screen, WorkerDialog) and screen.path == message.path:
            screen.finished(message)  # a dialog that shows its own result
        self.collector.poll_now()  # what it changed, on screen now

    def _took_effect(self, message: ActionMessage) -> None:
        if message.result is not None:  # a checkpoint: the rules' history and the pane's
            self.collector.record_checkpoint(message.path, message.result)
            if (update := self.state.record_checkpoint(message.path, message.result)):
                self.show_updates([update])
        if message.text:  # a panel's values read say nothing in the log
            self.announce(message.path, "action", message.text, message.severity,
                          checkpoint=message.result)

    # --- helpers ------------------------------------------------------------------------
    @property
    def overview_table(self) -> OverviewTable | None:
        """None until the overview screen has composed (it then fills itself from state)."""
        try:
            return self.screen_stack[0].query_one(OverviewTable)
        except (NoMatches, IndexError):
            return None

    def selected_path(self) -> str | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, DetailScreen):
                return screen.path
        table = self.overview_table
        return table.selected_path if table is not None else None

    def refresh_status(self) -> None:
        """The status line of every screen that has one (the overview, a detail view)."""
        replay = self.replay
        for screen in self.screen_stack:
            for status in screen.query("#status").results(ThemedStatic):
                status.update(status_text(self, status.palette,
                                          status.content_size.width or self.size.width - 2))
            for timeline in screen.query(ReplayTimeline):
                timeline.display = replay is not None
                if replay is not None:
                    timeline.update(timeline_text(
                        replay.recording.times, replay.recording.finding_indexes(),
                        replay.index, timeline.content_size.width or self.size.width - 2,
                        timeline.palette))

    def refuse(self, path: str, text: str) -> None:
        """Said once, the same way for every operation (operations.refusal words it)."""
        self.announce(path, "action", text, "warning")

    def _need_selection(self) -> str | None:
        path = self.selected_path()
        if path is None:
            self.notify("no database selected: attach one with a", severity="warning")
        return path

    def _need_answering(self) -> str | None:
        """The selected database, unless its filesystem has stopped answering: an action
        there would block in the kernel, beyond any cancel."""
        path = self._need_selection()
        update = self.latest.get(path) if path is not None else None
        if update is not None and update.reading.error is not None \
                and update.reading.error.kind in ("stuck", "not_regular"):
            self.notify(f"not opened: {update.reading.error.message}", severity="warning")
            return None
        return path

    def _immutable(self, path: str) -> bool:
        # SQLite's side of the house, imported when a key asks for it, not at start
        from waltui.actions.database import opens_immutable_now

        update = self.latest.get(path)
        return opens_immutable_now(update.reading if update is not None else None)

    # --- actions (keys, palette and help all come from keymap.KEYS) --------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Filter and sort belong to the overview: elsewhere they leave the footer. The
        replay's keys exist only in a replay, which has no databases to attach and no
        interval to change."""
        if action in ("filter", "sort", "sort_reverse"):
            return isinstance(self.screen, OverviewScreen)
        if action in ("replay_back", "replay_forward") and isinstance(self.screen, DetailScreen):
            return False  # there Left/Right keep switching panes, as live
        if action.startswith("replay_"):
            return self.replay is not None
        if self.replay is not None and (action in OPERATIONS or action == "restart_collector"):
            return False  # refused in a recording anyway: not offered in its footer
        if action in ("attach", "detach", "undo_detach", "faster", "slower"):
            return self.replay is None
        return True

    def action_open_detail(self) -> None:
        path = self.selected_path()
        if path is not None and not isinstance(self.screen, DetailScreen):
            update = self.latest.get(path)
            top = worst(update.findings) if update is not None else None
            pane = PANE_OF_FINDING.get(top.code) if top is not None else None
            self.push_screen(DetailScreen(path, pane=pane or self.saved.detail_pane))

    def action_back(self) -> None:  # type: ignore[override]
        if isinstance(self.screen, DetailScreen):
            self.pop_screen()

    def action_events(self) -> None:
        from waltui.ui.screens.events import EventsScreen
        if not isinstance(self.screen, EventsScreen):
            self.push_screen(EventsScreen())

    def action_filter(self) -> None:
        if isinstance(self.screen, OverviewScreen):
            self.screen.open_filter()

    def action_sort(self) -> None:  # the table posts SortChanged: shown and kept
        if isinstance(self.screen, OverviewScreen):
            self.screen.query_one(OverviewTable).sort_next()

    def action_sort_reverse(self) -> None:
        if isinstance(self.screen, OverviewScreen):
            self.screen.query_one(OverviewTable).sort_reverse()

    def action_pause(self) -> None:
        self.collector.pause(not self.collector.paused)
        what = "replay" if self.replay is not None else "polling"
        self.notify(f"{what} paused" if self.collector.paused else f"{what} resumed",
                    timeout=2)
        self.refresh_status()

    def _step_interval(self, direction: int) -> None:
        now = self.collector.interval
        if direction < 0:
            choice = max([s for s in INTERVAL_STEPS if s < now], default=INTERVAL_STEPS[0])
        else:
            choice = min([s for s in INTERVAL_STEPS if s > now], default=INTERVAL_STEPS[-1])
        self.collector.set_interval(choice)
        self.remember(interval=choice)
        self.notify(f"polling every {choice:g}s", timeout=2)
        self.refresh_status()

    def action_faster(self) -> None:
        self._step_interval(-1)

    def action_slower(self) -> None:
        self._step_interval(+1)

    def action_poll_now(self) -> None:
        self.collector.poll_now()

    def action_help(self) -> None:
        from waltui.ui.screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            if not self.is_screen_installed("help"):
                self.install_screen(HelpScreen(), "help")
            self.push_screen("help")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key in KEYS:
            if key.action in ("open_detail", "back") or (key.replay and self.replay is None):
                continue
            shown = effective_key(key.action, self.config.key_remap)
            yield SystemCommand(key.description, f"key: {shown} · [keys] {key.action}",
                                getattr(self, f"action_{key.action}"))


def run_dashboard(paths: list[str], config: Config,
                  on_exit: Callable[[], None] | None = None, notes: Iterable[str] = (),
                  recorder: Recorder | None = None, replay: Recording | None = None) -> int:
    tune_collector()
    app = WaltuiApp(paths, config, on_exit=on_exit, notes=notes, recorder=recorder,
                    replay=replay)
    app.run()
    return app.return_code or 0
