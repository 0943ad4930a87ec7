"""Errors a user can cause through the job queue: an unknown job or fingerprint, or a job in
a state that does not allow what was asked."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode
from casparian_core.jobs.status import JobStatus


class JobNotFoundError(CasparianError):
    error_code = ErrorCode.JOB_NOT_FOUND

    def __init__(self, job_id: str) -> None:
        super().__init__(f"There is no job {job_id!r}: `casparian jobs` lists the jobs.")


class JobStateError(CasparianError):
    error_code = ErrorCode.JOB_STATE_CONFLICT

    def __init__(self, job_id: str, status: JobStatus, wanted: str) -> None:
        super().__init__(f"The job {job_id} is {status}: {wanted}.")


class JobAlreadyQueuedError(CasparianError):
    error_code = ErrorCode.JOB_ALREADY_QUEUED

    def __init__(self, job_id: str, other: str) -> None:
        super().__init__(
            f"The job {job_id} cannot be queued again: the job {other} for the same input and "
            f"parser version is already queued or running (`casparian jobs show {other}`)."
        )


class ErrorNotFoundError(CasparianError):
    error_code = ErrorCode.ERROR_NOT_FOUND

    def __init__(self, fingerprint: str) -> None:
        super().__init__(
            f"No error has the fingerprint {fingerprint!r}: `casparian errors list` lists them."
        )
