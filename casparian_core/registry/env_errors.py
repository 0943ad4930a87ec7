"""Errors of managed environments: building a parser's venv and vendoring its wheels."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class VenvBuildError(CasparianError):
    """A parser's environment could not be built from its lock; nothing half-built is kept."""

    error_code = ErrorCode.VENV_BUILD_FAILED


class WheelsMissingError(CasparianError):
    """An offline build needs wheels the wheels folder does not have."""

    error_code = ErrorCode.WHEELS_MISSING


class VendorError(CasparianError):
    """The wheels a parser's lock needs could not be gathered for an air-gapped machine."""

    error_code = ErrorCode.VENDOR_FAILED
