"""What can go wrong registering, showing, exporting or materializing a parser artifact.

Each message names the file or the parser and version involved and says what to do next.
"""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class LockMissingError(CasparianError):
    """A parser without `uv.lock` (or without the `pyproject.toml` it locks)."""

    error_code = ErrorCode.LOCK_MISSING


class LockMismatchError(CasparianError):
    """`uv.lock` does not lock what `pyproject.toml` asks for (or is no uv lock at all)."""

    error_code = ErrorCode.LOCK_MISMATCH


class ProjectFileError(CasparianError):
    """`pyproject.toml` cannot be read, or its `[tool.casparian]` table is malformed."""

    error_code = ErrorCode.PROJECT_FILE_INVALID


class BundleTooLargeError(CasparianError):
    """The sources to bundle add up to more than the `registry_max_bundle_bytes` setting."""

    error_code = ErrorCode.BUNDLE_TOO_LARGE


class UnsafeLinkError(CasparianError):
    """A symbolic link in the parser folder points outside it (or at a folder)."""

    error_code = ErrorCode.BUNDLE_UNSAFE_LINK


class NotUtf8SourceError(CasparianError):
    """A source file to bundle is not UTF-8 text."""

    error_code = ErrorCode.BUNDLE_NOT_UTF8


class VersionExistsError(CasparianError):
    """This parser name and version is registered already, with other content."""

    error_code = ErrorCode.VERSION_EXISTS


class ApprovalRequiredError(CasparianError):
    """The contracts were not approved: declined, or no terminal to ask on and no `--yes`."""

    error_code = ErrorCode.APPROVAL_REQUIRED


class ParserNotRegisteredError(CasparianError):
    """No registered parser (or no such version of it)."""

    error_code = ErrorCode.PARSER_NOT_REGISTERED


class ArtifactCorruptError(CasparianError):
    """A stored artifact's bytes no longer have the SHA-256 recorded at registration."""

    error_code = ErrorCode.ARTIFACT_CORRUPT


class UnsafeArchiveError(CasparianError):
    """An artifact holds an entry that would land outside the folder it is unpacked into."""

    error_code = ErrorCode.UNSAFE_ARCHIVE


class ExportTargetError(CasparianError):
    """`parser export` was pointed at a folder that already holds something."""

    error_code = ErrorCode.EXPORT_TARGET_NOT_EMPTY
