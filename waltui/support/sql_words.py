"""What kind of statement an SQL text is, read from its words alone, so `config check` can
refuse a queue query that is not one read before any database is opened. The poll still
enforces it with SQLite's authorizer; this is the early, plain-spoken half."""

from __future__ import annotations

import re

# Comments, quoted strings and identifiers, a statement end, parentheses, and words: the
# only tokens that decide a statement's kind and count.
_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|/\*.*?(\*/|\Z))
  | (?P<quoted>'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]]*\]?)
  | (?P<end>;)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)
""", re.VERBOSE | re.DOTALL)

READS = ("SELECT", "VALUES")
_MAIN_KINDS = frozenset({"SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE"})


def statements(sql: str) -> list[list[tuple[str, int]]]:
    """Each statement's words (upper case) with their parenthesis depth; empty ones out."""
    found: list[list[tuple[str, int]]] = [[]]
    depth = 0
    for match in _TOKEN.finditer(sql):
        kind = match.lastgroup
        if kind == "end":
            found.append([])
            depth = 0
        elif kind == "open":
            depth += 1
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "word":
            found[-1].append((match.group().upper(), depth))
    return [words for words in found if words]


def statement_kind(words: list[tuple[str, int]]) -> str:
    """SELECT, VALUES, DELETE, PRAGMA, ...: the first word, or for WITH the statement the
    common table expressions lead to (the first main verb outside their parentheses)."""
    first = words[0][0]
    if first != "WITH":
        return first
    return next((word for word, depth in words[1:] if depth == 0 and word in _MAIN_KINDS),
                "WITH")


def not_one_read(sql: str) -> str | None:
    """Why this text is not one reading statement, or None when it is."""
    found = statements(sql)
    if not found:
        return "it is empty"
    if len(found) > 1:
        return f"it is {len(found)} statements; a queue query is one"
    kind = statement_kind(found[0])
    if kind not in READS:
        return f"it is {kind}; a queue query is one SELECT (WITH ... SELECT, VALUES)"
    return None


# SQL functions whose answer moves without a commit: the clock's and randomness. A query
# that names one is read again every sql_max_age; any other only when the database changes.
# A column named "time" or "date" counts too: re-reading is the safe side.
CLOCK_WORDS = frozenset({"DATE", "TIME", "DATETIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME",
                         "TIMEDIFF", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP",
                         "RANDOM", "RANDOMBLOB"})


def reads_the_clock(sql: str) -> bool:
    return any(word in CLOCK_WORDS for words in statements(sql) for word, _ in words)
