"""Content sniffing (what a file really is) and previews."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from casparian_core.scout.errors import FileNotCataloguedError, FileUnreadableError
from casparian_core.scout.preview import PREVIEW_BYTES, Preview, PreviewMode
from casparian_core.service import CoreService
from tests.scout.conftest import catalogue, scan, write_tree


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.txt", "x")
    return buffer.getvalue()


def _sqlite_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    return path.read_bytes()


def test_kinds_come_from_content_not_names(
    conn: sqlite3.Connection, data: Path, tmp_path: Path
) -> None:
    write_tree(
        data,
        {
            "gz.csv": gzip.compress(b"a,b\n"),
            "zip.csv": _zip_bytes(),
            "table.parquet": b"PAR1" + b"\x00" * 20 + b"PAR1",
            "db.csv": _sqlite_bytes(tmp_path),
            "doc.txt": b"%PDF-1.7\n",
            "events.csv": b"ElfFile\x00" + b"\x00" * 8,
            "pic.csv": b"\x89PNG\r\n\x1a\n....",
            "photo.dat": b"\xff\xd8\xff\xe0....",
            "wide.csv": "a,b\n".encode("utf-16"),
            "plain.csv": "naïve,é\n".encode(),
            "nul.csv": b"a,b\x00\x01",
            "odd_line.log": b"Nov  1 sshd: ok\n" * 40 + b"\x00\x01binary junk\x7f\n",
            "latin1.csv": "café\n".encode("latin-1"),
            "empty.csv": b"",
        },
    )

    scan(conn, data)

    kinds = {rel: row["kind"] for rel, row in catalogue(conn).items()}
    assert kinds == {
        "gz.csv": "gzip",
        "zip.csv": "zip",
        "table.parquet": "parquet",
        "db.csv": "sqlite",
        "doc.txt": "pdf",
        "events.csv": "evtx",
        "pic.csv": "png",
        "photo.dat": "jpeg",
        "wide.csv": "utf-16 text",
        "plain.csv": "text",
        "nul.csv": "binary",
        "odd_line.log": "text",  # one binary line in a log: still text
        "latin1.csv": "binary",
        "empty.csv": "empty",
    }


async def _preview_of(service: CoreService, data: Path, rel_path: str) -> Preview:
    await service.scout.scan(data)
    page = await service.scout.files_page()
    [row] = [r for r in page.rows if r.rel_path == rel_path]
    return await service.scout.preview(row.id)


async def test_csv_previews_as_a_table(service: CoreService, data: Path) -> None:
    write_tree(data, {"t.csv": 'id,name\n1,"a, b"\n2,c\n'})

    preview = await _preview_of(service, data, "t.csv")

    assert preview.mode is PreviewMode.TABLE
    assert preview.encoding == "utf-8"
    assert preview.header == ["id", "name"]
    assert preview.rows == [["1", "a, b"], ["2", "c"]]


async def test_json_is_pretty_printed(service: CoreService, data: Path) -> None:
    write_tree(data, {"c.json": '{"b": [1, 2], "a": "é"}'})

    preview = await _preview_of(service, data, "c.json")

    assert preview.mode is PreviewMode.JSON
    assert json.loads(preview.text) == {"b": [1, 2], "a": "é"}
    assert preview.text.startswith('{\n  "b"')


async def test_utf16_text_is_decoded_with_its_encoding(service: CoreService, data: Path) -> None:
    write_tree(data, {"w.txt": "héllo wörld\n".encode("utf-16")})

    preview = await _preview_of(service, data, "w.txt")

    assert (preview.mode, preview.encoding, preview.text) == (
        PreviewMode.TEXT,
        "utf-16",
        "héllo wörld\n",
    )


async def test_a_text_file_shows_its_odd_control_bytes_escaped(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"auth.log": b"Nov  1 sshd: ok\n" * 40 + b"\x00\x01junk\x7f \x1b[31m\n"})

    preview = await _preview_of(service, data, "auth.log")

    assert (preview.kind, preview.mode) == ("text", PreviewMode.TEXT)
    assert preview.text.endswith("\\x00\\x01junk\\x7f \\x1b[31m\n")


async def test_binary_shows_as_hex(service: CoreService, data: Path) -> None:
    write_tree(data, {"b.csv": b"\x00\x01ABC"})

    preview = await _preview_of(service, data, "b.csv")

    assert preview.mode is PreviewMode.HEX
    assert preview.text == "00000000  00 01 41 42 43" + " " * 33 + "  ..ABC"


async def test_a_big_file_preview_reads_only_its_head(service: CoreService, data: Path) -> None:
    line = "x" * 99 + "\n"
    write_tree(data, {"big.log": line * 10_000})  # 1 MB

    preview = await _preview_of(service, data, "big.log")

    assert preview.truncated
    assert len(preview.text) <= PREVIEW_BYTES
    assert preview.text.endswith("\n") and set(preview.text.splitlines()) == {line[:-1]}


async def test_previewing_a_vanished_or_unknown_file_is_a_typed_error(
    service: CoreService, data: Path
) -> None:
    write_tree(data, {"gone.txt": "x"})
    await service.scout.scan(data)
    [row] = (await service.scout.files_page()).rows
    (data / "gone.txt").unlink()

    with pytest.raises(FileUnreadableError, match=r"gone\.txt"):
        await service.scout.preview(row.id)
    with pytest.raises(FileNotCataloguedError):
        await service.scout.preview(row.id + 100)
