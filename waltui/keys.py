"""The one registry of keys: bindings, the help screen, the command palette and the config's
[keys] table all read it. Plain data (no Textual): `waltui config check` validates remaps."""

from __future__ import annotations

from dataclasses import dataclass

from waltui.actions.operations import writes as operation_writes


@dataclass(frozen=True)
class KeyAction:
    key: str
    action: str
    description: str
    group: str
    show: bool = True  # in the footer
    display: str = ""  # how the help screen spells the key
    footer: str = ""  # one word: ten of them must fit an 80-column footer
    replay: bool = False  # only while replaying a recording (`waltui replay`)
    priority: bool = False  # before the focused widget's own binding of the key


    @property
    def writes(self) -> bool:
        """From the operations registry: the same answer the read-only gate uses."""
        return operation_writes(self.action)

    @property
    def label(self) -> str:
        return self.display or self.key


REPLAY = "Replay (waltui replay only)"
# No ctrl+a or ctrl+b: screen and tmux take them.
KEYS: tuple[KeyAction, ...] = (
    KeyAction("enter", "open_detail", "Open the selected database", "Navigate", show=False,
              display="Enter"),
    KeyAction("escape", "back", "Back to the overview", "Navigate", show=False, display="Esc"),
    KeyAction("slash", "filter", "Filter databases by name", "Navigate", display="/",
              footer="filter"),
    KeyAction("o", "sort", "Sort by the next column (kept as polls come in)", "Navigate",
              show=False),
    KeyAction("O", "sort_reverse", "Reverse the sort (or click a column's header)",
              "Navigate", show=False, display="Shift+O"),
    KeyAction("e", "events", "Every event in full, newest first", "Navigate", show=False),
    KeyAction("y", "copy", "Copy the selected path, or the chosen lock holder's pid and "
              "command, to the clipboard (OSC 52: works over SSH)", "Navigate", show=False),
    KeyAction("a", "attach", "Attach a database", "Databases", footer="attach"),
    KeyAction("d", "detach", "Detach the selected database (stops watching it; nothing "
              "is written)", "Databases", show=False),
    KeyAction("u", "undo_detach", "Attach again the database detached last", "Databases",
              show=False),
    KeyAction("space", "pause", "Pause or resume polling", "Polling", display="Space",
              footer="pause"),
    KeyAction("minus", "faster", "Shorter interval: poll more often", "Polling", show=False,
              display="-"),
    KeyAction("plus", "slower", "Longer interval: poll less often", "Polling", show=False,
              display="+"),
    KeyAction("r", "poll_now", "Poll now", "Polling", show=False),
    KeyAction("ctrl+r", "restart_collector", "Restart the collector (when the status line "
              "says STALE, and why)", "Polling", show=False, display="Ctrl+R"),
    KeyAction("c", "checkpoint", "Checkpoint (PASSIVE, FULL, RESTART, TRUNCATE)", "Actions",
              footer="checkpoint"),
    KeyAction("i", "integrity", "Integrity check (quick or full)", "Actions",
              footer="integrity"),
    KeyAction("p", "pragmas", "Pragmas: view, change, optimize", "Actions",
              footer="pragmas"),
    KeyAction("R", "recover", "Guided safe recovery", "Actions", show=False,
              display="Shift+R"),
    KeyAction("k", "terminate", "SIGTERM the culprit (or the lock holder selected in Locks)",
              "Actions", show=False),
    KeyAction("K", "kill", "SIGKILL it, after a second confirmation", "Actions",
              show=False, display="Shift+K"),
    KeyAction("question_mark", "help", "Help: every key", "App", display="?", footer="help"),
    KeyAction("q", "quit", "Quit", "App", footer="quit"),
    KeyAction("left", "replay_back", "Replay: step back one stored poll", REPLAY,
              display="Left", footer="back", replay=True, priority=True),
    KeyAction("right", "replay_forward", "Replay: step forward one stored poll", REPLAY,
              display="Right", footer="step", replay=True, priority=True),
    KeyAction("comma", "replay_step_back", "Replay: step back one stored poll, from any view "
              "(Left switches panes in the detail view)", REPLAY, display=",", show=False,
              replay=True),
    KeyAction("full_stop", "replay_step_forward", "Replay: step forward one stored poll, from "
              "any view", REPLAY, display=".", show=False, replay=True),
    KeyAction("g", "replay_goto", "Replay: go to a time (HH:MM[:SS], YYYY-MM-DD HH:MM, +30s, "
              "-5m, or #SEQ for a poll)", REPLAY, footer="go to", replay=True),
    KeyAction("left_square_bracket", "replay_previous_finding",
              "Replay: back to the previous poll that raised a finding", REPLAY,
              display="[", footer="prev", replay=True),
    KeyAction("right_square_bracket", "replay_next_finding",
              "Replay: on to the next poll that raised a finding", REPLAY, display="]",
              footer="next", replay=True),
    KeyAction("less_than_sign", "replay_slower", "Replay: play slower", REPLAY,
              display="<", show=False, replay=True),
    KeyAction("greater_than_sign", "replay_faster", "Replay: play faster", REPLAY,
              display=">", show=False, replay=True),
)


# Keys that belong to the widgets (tables, tabs, dialogs), not to the app: listed in the help
# so that nothing an operator can press is a secret.
MOVES: tuple[tuple[str, str], ...] = (
    ("Up/Down", "Move in a table; PgUp/PgDn a page"),
    ("Home/End", "First and last row"),
    ("Left/Right", "Detail view: the previous and next pane (the tab bar has the focus)"),
    ("Tab", "Into the pane (to scroll a table, or choose a lock holder for k)"),
    ("Shift+Tab", "Back to the tab bar"),
    ("x", "Integrity check: cancel the running check"),
    ("y / n", "Confirmation dialogs: go ahead / cancel (nothing is written or sent)"),
    ("Esc", "Close a dialog or this help (also ? and q here)"),
)


ACTIONS = {k.action: k for k in KEYS}
# Textual's names for keys that are characters (as a [keys] value may give them)
KEY_NAMES = {"/": "slash", "?": "question_mark", "-": "minus", "+": "plus", " ": "space",
             "[": "left_square_bracket", "]": "right_square_bracket", "<": "less_than_sign",
             ">": "greater_than_sign", ",": "comma", ".": "full_stop"}


def key_name(spec: str) -> str:
    return KEY_NAMES.get(spec, spec)


def check_remap(remap: dict[str, str]) -> list[str]:
    """What is wrong with a [keys] table, one sentence each: an unknown action, or a key
    that two actions would share."""
    problems = [f"keys.{action}: no such action;{_did_you_mean(action)} known: "
                f"{', '.join(ACTIONS)}" for action in remap if action not in ACTIONS]
    owner: dict[str, str] = {}
    for action, key in ACTIONS.items():
        for name in remap.get(action, key.key).split(","):
            name = key_name(name.strip())
            if name in owner:
                problems.append(f"keys: {name!r} would be both {owner[name]} and {action}")
            owner[name] = action
    return problems


def _did_you_mean(action: str) -> str:
    import difflib  # only for a mistyped action

    near = difflib.get_close_matches(action, list(ACTIONS), n=1, cutoff=0.6)
    return f" did you mean {near[0]}?" if near else ""


def effective_key(action: str, remap: dict[str, str]) -> str:
    """How the help spells an action's key after the config's [keys]."""
    if action in remap:
        return remap[action]
    return ACTIONS[action].label
