"""A job's outcome: the guest's error code (text on the wire) becomes the host's ErrorCode at
the boundary, and a code this host does not know is reported clearly, not passed on as text."""

from __future__ import annotations

from casparian_core.bridge import protocol
from casparian_core.bridge.host import GuestProcess, JobOutcome
from casparian_core.errors import ErrorCode

from .conftest import WriteParser, run


def test_a_guests_code_is_decoded_to_the_hosts_enum() -> None:
    done = protocol.Done(protocol.ExitClass.TRANSIENT, "MEMORY_ERROR", "no memory left")

    outcome = JobOutcome.reported(done)

    assert type(outcome.error_code) is ErrorCode
    assert outcome == JobOutcome(
        protocol.ExitClass.TRANSIENT, ErrorCode.MEMORY_ERROR, "no memory left"
    )


def test_a_success_has_no_code() -> None:
    outcome = JobOutcome.reported(protocol.Done(protocol.ExitClass.SUCCESS, data_messages=3))

    assert outcome.ok and outcome.error_code is None


def test_a_code_this_host_does_not_know_is_an_unknown_error_that_keeps_its_exit_class() -> None:
    done = protocol.Done(protocol.ExitClass.TRANSIENT, "DISK_ON_FIRE", "the disk is on fire")

    outcome = JobOutcome.reported(done)

    assert outcome.error_code is ErrorCode.UNKNOWN_ERROR
    assert outcome.exit_code == protocol.ExitClass.TRANSIENT  # the retry class is the guest's
    assert outcome.message == (
        "the disk is on fire (the guest reported the error code 'DISK_ON_FIRE', which this "
        "version of Casparian does not know)"
    )


def test_a_real_guests_failure_arrives_as_an_error_code_member(
    warm_guest: GuestProcess, write_parser: WriteParser
) -> None:
    outcome, _ = run(warm_guest, write_parser("def parse(path):\n    raise KeyError('amt')\n"))

    assert type(outcome.error_code) is ErrorCode
    assert outcome.error_code is ErrorCode.SCHEMA_MISMATCH
