"""What a file really is, from its first bytes: a binary file named `.csv` shows as binary."""

from __future__ import annotations

import codecs
from enum import StrEnum

HEAD_BYTES = 4096


class Kind(StrEnum):
    EMPTY = "empty"
    GZIP = "gzip"
    ZIP = "zip"
    PARQUET = "parquet"
    SQLITE = "sqlite"
    PDF = "pdf"
    EVTX = "evtx"
    PNG = "png"
    JPEG = "jpeg"
    UTF16_TEXT = "utf-16 text"
    TEXT = "text"
    BINARY = "binary"


MAGIC_NUMBERS: tuple[tuple[bytes, Kind], ...] = (
    (b"\x1f\x8b", Kind.GZIP),
    (b"PK\x03\x04", Kind.ZIP),
    (b"PK\x05\x06", Kind.ZIP),  # an empty archive
    (b"PAR1", Kind.PARQUET),
    (b"SQLite format 3\x00", Kind.SQLITE),
    (b"%PDF-", Kind.PDF),
    (b"ElfFile\x00", Kind.EVTX),
    (b"\x89PNG\r\n\x1a\n", Kind.PNG),
    (b"\xff\xd8\xff", Kind.JPEG),
)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# Indexed by first byte, so most files are matched against one magic number, not nine.
MAGIC_BY_FIRST_BYTE: dict[int, tuple[tuple[bytes, Kind], ...]] = {}
for _magic, _kind in MAGIC_NUMBERS:
    MAGIC_BY_FIRST_BYTE[_magic[0]] = (*MAGIC_BY_FIRST_BYTE.get(_magic[0], ()), (_magic, _kind))
MAX_UTF8_CHARACTER = 4
# Bytes that text does not contain: the C0 controls and DEL, less tab, newlines, form feed,
# vertical tab and ESC (colour codes in logs).
CONTROL_BYTES = bytes(b for b in (*range(32), 127) if b not in b"\t\n\r\f\v\x1b")
# Text with a stray binary line (a log with one corrupt record) is still text: a head is binary
# only when more than this share of its bytes are controls.
MAX_CONTROL_SHARE = 0.01


def sniff(head: bytes) -> Kind:
    """The kind of a file whose first bytes (up to HEAD_BYTES) are `head`."""
    if not head:
        return Kind.EMPTY
    for magic, kind in MAGIC_BY_FIRST_BYTE.get(head[0], ()):
        if head.startswith(magic):
            return kind
    if head.startswith(UTF16_BOMS):
        return Kind.UTF16_TEXT
    if control_bytes(head) > MAX_CONTROL_SHARE * len(head):
        return Kind.BINARY
    return Kind.TEXT if is_utf8_prefix(head) else Kind.BINARY


def control_bytes(data: bytes) -> int:
    """How many bytes of `data` are controls text does not use (counted in C, not a loop)."""
    return len(data) - len(data.translate(None, CONTROL_BYTES))


def is_utf8_prefix(data: bytes) -> bool:
    """Whether `data` is valid UTF-8 apart from a character cut off at its end."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        tail = data[exc.start :]
        if len(tail) >= MAX_UTF8_CHARACTER:
            return False
        try:
            codecs.getincrementaldecoder("utf-8")().decode(tail, final=False)
        except UnicodeDecodeError:
            return False
    return True
