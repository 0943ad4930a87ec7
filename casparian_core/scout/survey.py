"""A survey of a folder: what is in it, without cataloguing anything. It walks as a scan walks
(no links followed, `.casparianignore` obeyed) and sniffs the first bytes of the first files,
so an outside client (MCP's quick_scan) can see a folder before anyone adds it as a source."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from casparian_core.scout.sniff import HEAD_BYTES, sniff
from casparian_core.scout.walk import FoundFile, source_items

SNIFFED_FILES = 1000  # kinds are counted over this many files: sniffing opens each file
SAMPLES_PER_EXTENSION = 3
NO_EXTENSION = "(none)"


@dataclass
class Survey:
    folder: Path
    files: int = 0
    bytes: int = 0
    by_extension: Counter[str] = field(default_factory=Counter)
    bytes_by_extension: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)  # of the first SNIFFED_FILES
    skipped: Counter[str] = field(default_factory=Counter)  # by reason (links, ignored...)
    samples: dict[str, list[str]] = field(default_factory=dict)  # extension -> a few paths
    largest: tuple[str, int] | None = None
    stopped_at: int | None = None  # the walk stopped after this many files


def survey_folder(folder: Path, max_files: int) -> Survey:
    """Blocking: call it from a thread."""
    survey = Survey(folder)
    for item in source_items(str(folder), None, None):
        if not isinstance(item, FoundFile):
            survey.skipped[item.reason] += 1
            continue
        if survey.files == max_files:
            survey.stopped_at = max_files
            break
        _count(survey, item)
    return survey


def _count(survey: Survey, item: FoundFile) -> None:
    extension = Path(item.rel_path).suffix.lower() or NO_EXTENSION
    survey.files += 1
    survey.bytes += item.size
    survey.by_extension[extension] += 1
    survey.bytes_by_extension[extension] += item.size
    samples = survey.samples.setdefault(extension, [])
    if len(samples) < SAMPLES_PER_EXTENSION:
        samples.append(item.rel_path)
    if survey.largest is None or item.size > survey.largest[1]:
        survey.largest = (item.rel_path, item.size)
    if survey.files <= SNIFFED_FILES:
        survey.by_kind[_kind(item.path)] += 1


def _kind(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return sniff(handle.read(HEAD_BYTES))
    except OSError:
        return "unreadable"
