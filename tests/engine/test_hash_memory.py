"""Hashing an input keeps the host's memory bounded whatever the input's size (DESIGN §11)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import blake3
import pytest

from casparian_core.engine import inputs

MEASURE = """
import resource, sys
from pathlib import Path
from casparian_core.engine.inputs import hash_file
hash_file(Path(sys.argv[1]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_hashing_a_4_gb_input_does_not_hold_it_in_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(4 << 30)  # holes: nothing on disk, 4 GB to read
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(big)], capture_output=True, text=True, check=True
    )
    peak_mb = int(done.stdout)
    # Alone it peaks near 80 MB, on a loaded machine near 500 MB (pages of the slice being
    # hashed, by several threads); keeping every page read mapped would hold 4,000.
    assert peak_mb < 1500, f"hashing held {peak_mb} MB (every page read stayed mapped)"


@pytest.mark.parametrize("size", [0, 1, 8, 9, 5000])
def test_read_and_mapped_files_hash_to_the_blake3_of_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    # Files up to HASH_READ_BYTES are read whole, larger ones mapped: the same hash either way.
    monkeypatch.setattr(inputs, "HASH_READ_BYTES", 8)
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    assert inputs.hash_file(path) == blake3.blake3(data).hexdigest()
