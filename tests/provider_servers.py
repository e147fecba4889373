"""Local SendGrid and Twilio stand-ins for tests (the servers live in
``tests.fakes.providers`` so the benchmark can use them too).

    from tests.provider_servers import fake_sendgrid, fake_twilio  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import pytest

from tests.fakes.providers import Drop, Fail, FakeSendGrid, FakeTwilio, Hang

__all__ = ["Drop", "Fail", "FakeSendGrid", "FakeTwilio", "Hang", "fake_sendgrid", "fake_twilio"]

STOP_NUMBER = "+15550009999"  # answers 21610, as a number that replied STOP


@pytest.fixture
def fake_sendgrid():
    with FakeSendGrid() as server:
        yield server


@pytest.fixture
def fake_twilio():
    with FakeTwilio(stop_numbers={STOP_NUMBER}) as server:
        yield server
