"""The tables in a database's schema, read from its pages without opening it.

Looking for a queue library's tables through SQLite starts a read transaction, which may
move a read mark in the -shm (a write, by the observer; wal-facts.md). The schema is the
table b-tree rooted at page 1 (sqlite_schema); its pages are found the way page 1 is, as
of mxFrame (page_one.read_page). Each row's CREATE TABLE text is then parsed by SQLite
itself, in a private in-memory database, to learn the columns.

The files are outside data: a page number past the database, a cycle, a record that
points past its page or an overflow chain that does not end is refused, never followed.
A writer can change pages while they are read: the wal-index header is compared before
and after, and a walk that raced one is given up (the caller tries again next poll).
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable

import apsw

from waltui.model import FileFacts
from waltui.probes.files import SHM_HEADER_BYTES, FileWatch
from waltui.probes.page_one import read_page

MAX_SCHEMA_PAGES = 4096  # a schema of ~100,000 tables; a larger one is not looked through
MAX_RECORD_BYTES = 1 << 20  # a CREATE statement longer than this is not parsed
PARSE_LIMIT_SECONDS = 0.1


class Unreadable(Exception):
    """The schema pages were inconsistent (damaged, or changed while read)."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        if at + i >= len(data):
            raise Unreadable("varint past the end of the page")
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise Unreadable("bad varint")  # not reached


class _Pages:
    def __init__(self, watch: FileWatch, facts: FileFacts) -> None:
        header = facts.db_header
        if header is None:
            raise Unreadable("no database header")
        self.watch, self.facts, self.page_size = watch, facts, header.page_size
        reserved = watch.db.pread(1, 20)
        self.usable = self.page_size - (reserved[0] if reserved else 0)
        index = facts.wal_index
        self.count = index.db_pages if index is not None and index.max_frame else \
            header.page_count or max(1, facts.db_bytes // self.page_size)
        self.read = 0

    def page(self, number: int) -> bytes:
        if not 1 <= number <= self.count:
            raise Unreadable(f"page {number} is outside the database")
        self.read += 1
        if self.read > MAX_SCHEMA_PAGES:
            raise Unreadable("the schema is larger than waltui looks through")
        data = read_page(self.watch, self.facts.wal_index, self.facts.wal_header,
                         self.page_size, number)
        if data is None or len(data) < self.page_size:
            raise Unreadable(f"page {number} could not be read whole")
        return data


def _payload(pages: _Pages, page: bytes, at: int) -> bytes:
    """A table-leaf cell's payload, following its overflow pages (bounded)."""
    size, at = _varint(page, at)
    _rowid, at = _varint(page, at)
    if size > MAX_RECORD_BYTES:
        raise Unreadable("a schema record too large to parse")
    usable = pages.usable
    most_local = usable - 35
    if size <= most_local:
        local = size
    else:
        least = ((usable - 12) * 32 // 255) - 23
        local = least + (size - least) % (usable - 4)
        local = local if local <= most_local else least
    if at + local > len(page):
        raise Unreadable("a cell runs past its page")
    out = bytearray(page[at:at + local])
    if local < size:
        (next_page,) = struct.unpack_from(">I", page, at + local)
        seen: set[int] = set()
        while len(out) < size:
            if next_page in seen:
                raise Unreadable("an overflow chain loops")
            seen.add(next_page)
            data = pages.page(next_page)
            (next_page,) = struct.unpack_from(">I", data, 0)
            out += data[4:min(usable, 4 + size - len(out))]
    return bytes(out)


def _columns(record: bytes) -> list[object]:
    """A record's values (type, name, tbl_name, rootpage, sql for sqlite_schema)."""
    header_size, at = _varint(record, 0)
    types: list[int] = []
    values: list[object] = []
    while at < header_size:
        serial, at = _varint(record, at)
        types.append(serial)
    body = header_size
    sizes = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8, 8: 0, 9: 0}
    for serial in types:
        size = sizes.get(serial, (serial - 12) // 2 if serial >= 12 else 0)
        raw = record[body:body + size]
        if len(raw) < size:
            raise Unreadable("a record is shorter than its header says")
        body += size
        if serial >= 13 and serial % 2:
            values.append(raw.decode("utf-8", "replace"))
        elif 1 <= serial <= 6:
            values.append(int.from_bytes(raw, "big", signed=True))
        else:
            values.append(None)
    return values


def _walk(pages: _Pages) -> dict[str, str]:
    """name -> CREATE TABLE text, for every table row of sqlite_schema."""
    tables: dict[str, str] = {}
    todo, seen = [1], set()
    while todo:
        number = todo.pop()
        if number in seen:
            raise Unreadable("the schema's b-tree loops")
        seen.add(number)
        page = pages.page(number)
        head = 100 if number == 1 else 0
        kind = page[head]
        cells = struct.unpack_from(">H", page, head + 3)[0]
        if kind == 0x05:  # interior table page: children, then the right-most one
            pointers = head + 12
            for i in range(cells):
                (cell,) = struct.unpack_from(">H", page, pointers + 2 * i)
                if cell + 4 > len(page):
                    raise Unreadable("a cell pointer past its page")
                todo.append(struct.unpack_from(">I", page, cell)[0])
            todo.append(struct.unpack_from(">I", page, head + 8)[0])
        elif kind == 0x0D:  # leaf table page: the rows
            pointers = head + 8
            for i in range(cells):
                (cell,) = struct.unpack_from(">H", page, pointers + 2 * i)
                values = _columns(_payload(pages, page, cell))
                if len(values) >= 5 and values[0] == "table" and isinstance(values[1], str) \
                        and isinstance(values[4], str):
                    tables[values[1]] = values[4]
        else:
            raise Unreadable(f"page {number} is not a table b-tree page")
    return tables


def schema_tables(watch: FileWatch, facts: FileFacts) -> dict[str, str]:
    """The tables of the database as of its current mxFrame; raises Unreadable when the
    pages are damaged or changed while they were read."""
    before = watch.shm.pread(SHM_HEADER_BYTES) if facts.wal_index is not None else \
        watch.db.pread(100)
    try:
        tables = _walk(_Pages(watch, facts))
    except (struct.error, IndexError) as exc:
        raise Unreadable(str(exc)) from exc
    after = watch.shm.pread(SHM_HEADER_BYTES) if facts.wal_index is not None else \
        watch.db.pread(100)
    if after != before:
        raise Unreadable("a writer changed the database while its schema was read")
    return tables


_CREATE_TABLE = re.compile(r"\s*create\s+table\s", re.IGNORECASE)
_CREATE_MAY = frozenset({apsw.SQLITE_CREATE_TABLE, apsw.SQLITE_INSERT, apsw.SQLITE_UPDATE,
                         apsw.SQLITE_READ, apsw.SQLITE_FUNCTION})


def _create_only(action: int, *_: object) -> int:
    return apsw.SQLITE_OK if action in _CREATE_MAY else apsw.SQLITE_DENY


def table_columns(tables: dict[str, str], wanted: Callable[[str], bool]) -> dict[str, set[str]]:
    """The columns of the wanted tables, from their CREATE TABLE texts, as SQLite parses
    them in a private in-memory database: no SELECT, ATTACH or PRAGMA allowed in the text,
    one statement, a time limit. A text SQLite refuses leaves its table out."""
    found: dict[str, set[str]] = {}
    conn = apsw.Connection(":memory:")
    try:
        deadline = time.monotonic() + PARSE_LIMIT_SECONDS
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
        conn.limit(apsw.SQLITE_LIMIT_LENGTH, MAX_RECORD_BYTES)
        for name, sql in tables.items():
            if not wanted(name) or not _CREATE_TABLE.match(sql):
                continue
            try:
                conn.authorizer = _create_only
                cursor = conn.cursor()
                cursor.exec_trace = _one_statement()
                cursor.execute(sql).fetchall()
                conn.authorizer = None
                found[name] = {str(row[1]) for row in conn.execute(
                    "SELECT * FROM pragma_table_info(?)", (name,))}
                conn.execute(f'DROP TABLE "{name.replace(chr(34), chr(34) * 2)}"')
            except (apsw.Error, ValueError):
                conn.authorizer = None
                continue
    finally:
        conn.close()
    return found


def _one_statement() -> Callable[[apsw.Cursor, str, object], bool]:
    ran: list[str] = []

    def check(_cursor: apsw.Cursor, sql: str, _bindings: object) -> bool:
        if ran:
            raise ValueError("more than one statement")
        ran.append(sql)
        return True

    return check
