"""Sizes are 1000-based everywhere (one function, casparian_core.units.format_bytes)."""

from __future__ import annotations

from pathlib import Path

from casparian_core.units import format_bytes
from tests.cli.support import casparian


def test_format_bytes_is_si_with_three_digits_at_most() -> None:
    cases = {
        0: "0 B",
        999: "999 B",
        1000: "1.0 kB",
        1500: "1.5 kB",
        9949: "9.9 kB",
        9950: "10 kB",
        999_499: "999 kB",
        999_500: "1.0 MB",  # never "1000 kB"
        12_345_678: "12 MB",
        3 * 10**12: "3.0 TB",
    }
    assert {n: format_bytes(n) for n in cases} == cases


def test_files_lists_sizes_in_si_units(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.bin").write_bytes(b"x" * 1500)
    home = tmp_path / "home"
    assert casparian("scan", str(data), home=home).returncode == 0
    listing = casparian("files", home=home).stdout
    assert "data:a.bin  -  1.5 kB  " in listing


def test_a_large_input_shows_its_rates_in_si_units(tmp_path: Path) -> None:
    parser = tmp_path / "lines.py"
    parser.write_text("def parse(path):\n    return [{'n': 1}]\n")
    (tmp_path / "big.txt").write_bytes(b"y" * 2_000_000)
    result = casparian(
        "run", str(parser), "big.txt", home=tmp_path / "no-home", cwd=tmp_path, timeout=120
    )
    head = result.stdout.splitlines()[0]
    assert "B/s, " in head and head.endswith(" rows/s)"), head
    assert "MiB" not in head
