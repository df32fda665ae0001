"""Numbers and outside text as an operator reads them: 1.4 GiB, 4m12s, `x\\x1b]0;`."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, bidi overrides and isolates, and
# lone surrogates (a file name that is not UTF-8, decoded with surrogateescape).
_OTHER_INVISIBLE = ("\\x7f-\\x9f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e"
                   "\\u2066-\\u2069\\ud800-\\udfff")
_PATTERNS = {False: f"[\\x00-\\x1f{_OTHER_INVISIBLE}]",
             True: f"[\\x00-\\x09\\x0b-\\x1f{_OTHER_INVISIBLE}]"}  # newlines kept
_compiled: dict[bool, re.Pattern[str]] = {}


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a raw byte of a non-UTF-8 name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, newlines: bool = False) -> str:
    """Outside text (paths, command lines, SQL results, error messages) made safe to show:
    every control character, bidi override and undecodable byte written as an escape, so
    nothing from a file or a process can move the cursor, retitle the terminal or hide
    text. With ``newlines`` a line break stays a line break (multi-line CLI output)."""
    text = str(text)
    if text.isprintable():  # no character above is printable: most text is done here
        return text
    if newlines not in _compiled:  # compiled on first need: 2 ms of every start otherwise
        _compiled[newlines] = re.compile(_PATTERNS[newlines])
    return _compiled[newlines].sub(_show, text)


def human_bytes(count: float | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def human_hold(seconds: float, at_least: bool = False) -> str:
    """A hold time; one that began before waltui first looked is a lower bound: >=13s."""
    return (">=" if at_least else "") + human_seconds(seconds)


INTERPRETERS = ("python", "node", "ruby", "perl", "php", "bash", "sh")


def short_command(cmdline: str, width: int = 48, *, program_first: bool = False) -> str:
    """'/usr/bin/python3 -m app.worker /srv/a/q.db' -> 'python3 -m app.worker /srv/a/q.db':
    the program without its directory, its arguments as it was given them (a database
    path is what tells agents/alpha/state.db from agents/beta/state.db), cut to ``width``
    by shortening paths from the left ('…/alpha/state.db') before anything else. With
    ``program_first`` (a narrow column) an interpreter and its flags go and every
    directory too ('worker q.db'): there the script or module says more than 'python3 -m'."""
    words = visible(cmdline).split()
    if not words:
        return ""
    words[0] = _last_part(words[0])
    if program_first:
        words = [_last_part(w) for w in words]
        if len(words) > 1 and words[0].rstrip("0123456789.") in INTERPRETERS:
            words.pop(0)
            while len(words) > 1 and words[0].startswith("-"):
                if words.pop(0) == "-m":
                    words[0] = words[0].rsplit(".", 1)[-1]
                    break
    text = " ".join(words)
    for keep in (2, 1):  # the longest path first, to its last two parts, then its last
        while len(text) > width:
            shorter = [(len(w), i) for i, w in enumerate(words) if _tail(w, keep) != w]
            if not shorter:
                break
            at = max(shorter)[1]
            words[at] = _tail(words[at], keep)
            text = " ".join(words)
    return text if len(text) <= width else text[: width - 1] + "…"


def _last_part(word: str) -> str:
    return word.rsplit("/", 1)[-1] if "/" in word and not word.endswith("/") else word


def _tail(word: str, keep: int) -> str:
    """A path's last ``keep`` parts after an ellipsis: '/srv/agents/alpha/state.db' ->
    '…/alpha/state.db' (keep 2); '--db=/srv/a/b/q.db' -> '--db=…/b/q.db'."""
    flag, _, path = word.rpartition("=") if "=" in word.split("/", 1)[0] else ("", "", word)
    parts = path.rstrip("/").split("/")
    if len(parts) <= keep or (len(parts) == keep + 1 and parts[0] == "…"):
        return word
    return (flag + "=" if flag else "") + "…/" + "/".join(parts[-keep:])


OUTSIDE_WORDS = "a process outside this pid namespace"
UNOWNED_WORDS = "an open file description, owner not found"


def who(pid: int, cmdline: str | None) -> str:
    """How every message names a process: pid 4121 `python agent.py q.db`; a lock holder
    with no pid here is named for why (model.OUTSIDE_NAMESPACE, model.OWNER_NOT_FOUND)."""
    if pid == 0:
        return OUTSIDE_WORDS
    if pid < 0:
        return UNOWNED_WORDS
    return f"pid {pid} `{short_command(cmdline)}`" if cmdline else f"pid {pid}"


def literal_lines(text: str) -> str:
    """A block of CLI output made safe line by line (see visible)."""
    return visible(text, newlines=True)
