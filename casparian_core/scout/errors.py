"""Errors a user can cause while scanning, tagging or listing files."""

from __future__ import annotations

from casparian_core.errors import CasparianError, ErrorCode


class ScanPathNotFoundError(CasparianError):
    error_code = ErrorCode.SCAN_PATH_NOT_FOUND

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} does not exist: check the path and scan again.")


class NotAFolderError(CasparianError):
    error_code = ErrorCode.NOT_A_FOLDER

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is a file, not a folder: scan the folder that contains it instead."
        )


class SourceNotFoundError(CasparianError):
    error_code = ErrorCode.SOURCE_NOT_FOUND

    def __init__(self, name: str) -> None:
        super().__init__(
            f"There is no source named {name!r}: `casparian source list` shows the sources."
        )


class SourceNameTakenError(CasparianError):
    error_code = ErrorCode.SOURCE_NAME_TAKEN

    def __init__(self, name: str, path: str) -> None:
        super().__init__(
            f"The source name {name!r} is already used for {path}: choose another with --name."
        )


class SourceAlreadyRegisteredError(CasparianError):
    error_code = ErrorCode.SOURCE_ALREADY_REGISTERED

    def __init__(self, path: str, name: str) -> None:
        super().__init__(
            f"{path} is already the source {name!r}: scan it without --name, or remove that "
            "source first with `casparian source remove`."
        )


class RuleNotFoundError(CasparianError):
    error_code = ErrorCode.RULE_NOT_FOUND

    def __init__(self, rule_id: int) -> None:
        super().__init__(f"There is no tagging rule {rule_id}: `casparian rule list` shows them.")


class InvalidTagError(CasparianError):
    error_code = ErrorCode.INVALID_TAG

    def __init__(self, tag: str) -> None:
        super().__init__(
            f"{tag!r} is not a valid tag: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit."
        )


class EmptyPatternError(CasparianError):
    error_code = ErrorCode.EMPTY_PATTERN

    def __init__(self) -> None:
        super().__init__("The pattern is empty: give a glob such as '*.csv' or a file path.")


class NoMatchingFilesError(CasparianError):
    error_code = ErrorCode.NO_MATCHING_FILES

    def __init__(self, pattern: str) -> None:
        super().__init__(
            f"No catalogued file matches {pattern!r}: check `casparian files`, or scan the "
            "folder first."
        )


class FileNotCataloguedError(CasparianError):
    error_code = ErrorCode.FILE_NOT_CATALOGUED

    def __init__(self, file_id: int) -> None:
        super().__init__(f"There is no catalogued file with id {file_id}: rescan its source.")


class FileUnreadableError(CasparianError):
    error_code = ErrorCode.FILE_UNREADABLE

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"Cannot read {path} ({reason}): rescan its source to update the catalogue."
        )


class NonUtf8SourcePathError(CasparianError):
    error_code = ErrorCode.NON_UTF8_SOURCE_PATH

    def __init__(self, path: str) -> None:
        super().__init__(
            f"The folder path {path} is not valid UTF-8: rename the folder (files inside it "
            "may have any names)."
        )


class PatternWithoutTagError(CasparianError):
    error_code = ErrorCode.PATTERN_WITHOUT_TAG

    def __init__(self) -> None:
        super().__init__(
            "--pattern chooses which files --tag tags: add --tag TAG, or drop --pattern."
        )


class ScanWorkerDiedError(CasparianError):
    error_code = ErrorCode.SCAN_WORKER_DIED

    def __init__(self, root: str, exit_code: int, last_error: str) -> None:
        detail = f": {last_error}" if last_error else ""
        super().__init__(
            f"The scan of {root} stopped: its worker process exited with code {exit_code}"
            f"{detail}. The files found so far are kept; scan again to finish."
        )


class SourceRemovedDuringScanError(CasparianError):
    error_code = ErrorCode.SOURCE_REMOVED_DURING_SCAN

    def __init__(self, name: str) -> None:
        super().__init__(
            f"The source {name} was removed while it was being scanned, so the scan stopped "
            "and wrote nothing more: scan the folder again to catalogue it anew."
        )
