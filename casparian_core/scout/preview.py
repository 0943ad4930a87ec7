"""A bounded look inside a file: text with its encoding, CSV as a table, JSON pretty-printed,
hex for anything binary. Reads at most PREVIEW_BYTES, whatever the file's size."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import stat
from dataclasses import dataclass, field
from enum import StrEnum

from casparian_core.scout.content import OPEN_FLAGS
from casparian_core.scout.errors import FileUnreadableError
from casparian_core.scout.names import openable_path
from casparian_core.scout.queries import FileRow
from casparian_core.scout.sniff import CONTROL_BYTES, HEAD_BYTES, Kind, is_utf8_prefix, sniff

PREVIEW_BYTES = 64 * 1024
HEX_BYTES = 4096
HEX_WIDTH = 16
TABLE_ROWS = 100
TABLE_EXTENSIONS = {".csv": ",", ".tsv": "\t", ".psv": "|"}
JSON_EXTENSIONS = frozenset({".json", ".geojson"})
# The odd control byte in a text file (one corrupt log line, a colour code) is shown escaped,
# as \x00: a terminal would act on it or show nothing.
SHOWN_CONTROLS = {byte: f"\\x{byte:02x}" for byte in (*CONTROL_BYTES, 0x1B)}


class PreviewMode(StrEnum):
    TEXT = "text"
    TABLE = "table"
    JSON = "json"
    HEX = "hex"
    EMPTY = "empty"


@dataclass(frozen=True)
class Preview:
    file_id: int
    rel_path: str
    kind: str
    mode: PreviewMode
    encoding: str | None
    text: str  # the text, the pretty JSON or the hex dump; '' for a table
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    truncated: bool = False  # only the start of the file is shown


def preview_file(row: FileRow, path_bytes: bytes | None) -> Preview:
    data, truncated = _read_head(openable_path(row.path, path_bytes), row.path)
    kind = sniff(data[:HEAD_BYTES])
    encoding = _text_encoding(data, kind)
    if kind is Kind.EMPTY:
        return Preview(row.id, row.rel_path, kind.value, PreviewMode.EMPTY, None, "")
    if encoding is None:
        dump = hex_dump(data[:HEX_BYTES])
        cut = truncated or len(data) > HEX_BYTES
        return Preview(row.id, row.rel_path, kind.value, PreviewMode.HEX, None, dump, truncated=cut)
    text = data.decode(encoding, errors="replace").translate(SHOWN_CONTROLS)
    if truncated:
        text = text[: text.rfind("\n") + 1] or text  # no half line at the end
    extension = os.path.splitext(row.rel_path)[1].lower()
    common = (row.id, row.rel_path, kind.value)
    if extension in TABLE_EXTENSIONS:
        header, rows = _parse_table(text, TABLE_EXTENSIONS[extension])
        if header:
            return Preview(*common, PreviewMode.TABLE, encoding, "", header, rows, truncated)
    if extension in JSON_EXTENSIONS and not truncated:
        try:
            pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass  # not valid JSON after all: show it as the text it is
        else:
            return Preview(*common, PreviewMode.JSON, encoding, pretty)
    return Preview(*common, PreviewMode.TEXT, encoding, text, truncated=truncated)


def hex_dump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), HEX_WIDTH):
        chunk = data[offset : offset + HEX_WIDTH]
        printable = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {chunk.hex(' '):<{HEX_WIDTH * 3 - 1}}  {printable}")
    return "\n".join(lines)


def _read_head(path: str | bytes, shown_path: str) -> tuple[bytes, bool]:
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        raise FileUnreadableError(shown_path, exc.strerror or str(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileUnreadableError(shown_path, "no longer a regular file")
        data = os.read(fd, PREVIEW_BYTES + 1)
    finally:
        os.close(fd)
    return data[:PREVIEW_BYTES], len(data) > PREVIEW_BYTES


def _text_encoding(data: bytes, kind: Kind) -> str | None:
    if kind is Kind.UTF16_TEXT:
        return "utf-16"
    if kind is not Kind.TEXT:
        return None
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # The kind looked at the first 4 KiB; the rest of the preview may still not be UTF-8.
    return "utf-8" if is_utf8_prefix(data) else "latin-1"


def _parse_table(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, [])
        rows = [row for _, row in zip(range(TABLE_ROWS), reader, strict=False)]
    except csv.Error:
        return [], []  # not parseable as a table: the caller shows plain text
    return header, rows
