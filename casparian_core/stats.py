"""The headline numbers of a home, and the short phrases the Home Hub and `status` show."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from casparian_core.jobs.status import JobStatus

# Job statuses in the order a user scans them: trouble first.
JOB_STATUS_ORDER = (
    JobStatus.FAILED,
    JobStatus.DEAD_LETTER,
    JobStatus.RUNNING,
    JobStatus.QUEUED,
    JobStatus.COMPLETED_WITH_WARNINGS,
    JobStatus.COMPLETED,
    JobStatus.CANCELLED,
)
JOB_STATUS_WORDS: dict[str, str] = {
    JobStatus.FAILED: "failed",
    JobStatus.DEAD_LETTER: "dead-lettered",
    JobStatus.RUNNING: "running",
    JobStatus.QUEUED: "pending",
    JobStatus.COMPLETED_WITH_WARNINGS: "with warnings",
    JobStatus.COMPLETED: "complete",
    JobStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class Stats:
    files: int
    sources: int
    tags: int
    untagged_files: int
    parsers: int
    recent_tests: int
    tables: int | None  # None: not counted (yet)
    rows: int | None
    quarantined_rows: int | None
    jobs: dict[str, int]

    @property
    def is_empty(self) -> bool:
        return not (self.files or self.sources or self.parsers or self.tables or self.jobs)

    def as_json(self) -> dict[str, object]:
        return asdict(self)

    def discover_summary(self) -> str:
        return f"{plural(self.files, 'file')}, {plural(self.sources, 'source')}"

    def parsers_summary(self) -> str:
        return f"{plural(self.parsers, 'parser')}, {plural(self.recent_tests, 'recent test')}"

    def inspect_summary(self) -> str:
        if self.tables is None or self.rows is None:
            return "counting tables…"
        return f"{plural(self.tables, 'table')}, {compact(self.rows)} rows"

    def jobs_summary(self) -> str:
        if not self.jobs:
            return "no jobs yet"
        known = [s for s in JOB_STATUS_ORDER if s in self.jobs]
        others = sorted(s for s in self.jobs if s not in JOB_STATUS_ORDER)
        return ", ".join(
            f"{self.jobs[s]} {JOB_STATUS_WORDS.get(s, s.lower())}" for s in known + others
        )


def plural(count: int, noun: str) -> str:
    return f"{compact(count)} {noun}{'' if count == 1 else 's'}"


def compact(number: int) -> str:
    """12345 -> '12K', 1500000 -> '1.5M': short enough for a card."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if abs(number) >= size:
            value = number / size
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(number)
