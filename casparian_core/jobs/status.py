"""The statuses of a job in the queue (`cf_processing_queue.status`), DESIGN §9."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting to be claimed (or for its next retry); shown as "pending"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_WARNINGS = "COMPLETED_WITH_WARNINGS"  # rows were quarantined
    FAILED = "FAILED"  # for good: a transient failure is QUEUED again until its last retry
    DEAD_LETTER = "DEAD_LETTER"  # out of retries: moved to the dead letters, never deleted
    CANCELLED = "CANCELLED"


# Not finished with: queued (or waiting for a retry) or running. Every other status is an end.
UNFINISHED = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
