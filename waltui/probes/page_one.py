"""Any page as SQLite sees it now, read from the files without opening SQLite: page 1's
header for the pragmas, the schema's pages for the presets (schema_pages.py).

Opening a connection, even read-only, writes: each read transaction may move a read mark in
the -shm (measured: [0, 679] -> [0, 680]). The pragmas waltui shows all live in page 1's
first 100 bytes, so they are found the way SQLite's walFindFrame() finds any page: the
newest frame holding page 1 in (nBackfill, mxFrame], looked up in the wal-index hash
tables; if there is none, page 1 in the database file is current.

wal-index layout (wal.c): 32 KiB blocks. Block 0 holds the 136-byte header, then page
numbers for frames 1..4062 (u32 each), then 8,192 u16 hash slots at offset 16,384. Block
i > 0 holds page numbers for 4,096 frames from frame 4062 + (i-1)*4096 + 1, then its hash
slots at i*32768 + 16384. A slot holds h, the frame's 1-based index within the block (0 =
empty); page p hashes to (p*383) & 8191, collisions probe the next slot.

Everything is read lock-free, so a found frame is checked before it is trusted: its frame
header must name page 1 and carry the -wal header's salts. The cost is a few small preads
per hash block searched, newest first, never a read of the WAL's frames.
"""

from __future__ import annotations

import struct

from waltui.model import WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, WalHeader, WalIndex
from waltui.probes.files import FileWatch

BLOCK_BYTES = 32768
HASH_OFFSET = 16384
FRAMES_IN_FIRST_BLOCK = 4062
FRAMES_PER_BLOCK = 4096
HASH_SLOTS = 8192


def _block_of(frame: int) -> int:
    return (frame + FRAMES_PER_BLOCK - FRAMES_IN_FIRST_BLOCK - 1) // FRAMES_PER_BLOCK


def _block_start(block: int) -> tuple[int, int]:
    """(offset of the block's page-number array, frames before the block)."""
    if block == 0:
        return 136, 0
    return block * BLOCK_BYTES, FRAMES_IN_FIRST_BLOCK + (block - 1) * FRAMES_PER_BLOCK


def newest_frame(watch: FileWatch, index: WalIndex, page: int = 1) -> int | None:
    """The newest frame in (nBackfill, mxFrame] that holds the page, or None."""
    first, last = index.backfilled + 1, index.max_frame
    if last < first:
        return None
    for block in range(_block_of(last), _block_of(first) - 1, -1):
        numbers_at, before = _block_start(block)
        hashes_at = block * BLOCK_BYTES + HASH_OFFSET
        slot, found = (page * 383) & (HASH_SLOTS - 1), None
        for _ in range(HASH_SLOTS):
            raw = watch.shm.pread(2, hashes_at + 2 * slot)
            if len(raw) < 2 or (entry := struct.unpack("=H", raw)[0]) == 0:
                break
            frame = int(before + entry)
            if first <= frame <= last:
                number = watch.shm.pread(4, numbers_at + 4 * (entry - 1))
                if len(number) == 4 and struct.unpack("=I", number)[0] == page:
                    found = max(found or 0, frame)
            slot = (slot + 1) & (HASH_SLOTS - 1)
        if found is not None:
            return found
    return None


def page_one_header(watch: FileWatch, index: WalIndex | None, wal_header: WalHeader | None,
                    page_size: int) -> bytes | None:
    """Page 1's first 100 bytes as of mxFrame; None when the WAL's copy fails its check
    (a writer moved the index under us): the caller keeps the file's header and says so."""
    return read_page(watch, index, wal_header, page_size, 1, 100)


def read_page(watch: FileWatch, index: WalIndex | None, wal_header: WalHeader | None,
              page_size: int, page: int, size: int | None = None) -> bytes | None:
    """A page (or its first ``size`` bytes) as of mxFrame: its newest frame in the WAL,
    checked by its frame header (this page, this WAL's salts), else the database file's
    copy. None when the WAL's copy fails its check or comes short."""
    size = page_size if size is None else size
    frame = newest_frame(watch, index, page) if index is not None and wal_header else None
    if frame is None:
        return watch.db.pread(size, (page - 1) * page_size)
    offset = WAL_HEADER_BYTES + (frame - 1) * (page_size + WAL_FRAME_HEADER_BYTES)
    head = watch.wal.pread(WAL_FRAME_HEADER_BYTES, offset)
    if len(head) < WAL_FRAME_HEADER_BYTES:
        return None
    number, _size, salt1, salt2 = struct.unpack(">IIII", head[:16])
    if wal_header is None or number != page or (salt1, salt2) != (wal_header.salt1,
                                                                  wal_header.salt2):
        return None
    data = watch.wal.pread(size, offset + WAL_FRAME_HEADER_BYTES)
    return data if len(data) == size else None
