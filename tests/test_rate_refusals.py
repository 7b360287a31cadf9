"""A worker remembers a rate refusal exactly as long as the Retry-After it gave."""

from __future__ import annotations

import pytest

from models.errors import RequestRateExceeded
from tasks_api.rate_refusals import RateRefusals

ALICE = ("urn:tasks-api:built-in", "alice")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal(retry_after_seconds: int) -> RequestRateExceeded:
    return RequestRateExceeded(limit=3, window_seconds=60, retry_after_seconds=retry_after_seconds)


class TestRefuseIfRemembered:
    def test_a_user_never_refused_passes(self) -> None:
        RateRefusals().refuse_if_remembered(ALICE)

    def test_within_the_retry_after_the_refusal_is_repeated_with_the_time_left(self) -> None:
        clock = FakeClock()
        refusals = RateRefusals(clock=clock)
        refusals.remember(ALICE, refusal(retry_after_seconds=20))
        clock.now += 12.5

        with pytest.raises(RequestRateExceeded) as repeated:
            refusals.refuse_if_remembered(ALICE)

        assert repeated.value.retry_after_seconds == 8
        assert (repeated.value.limit, repeated.value.window_seconds) == (3, 60)

    def test_once_the_retry_after_has_passed_the_user_is_asked_about_again(self) -> None:
        clock = FakeClock()
        refusals = RateRefusals(clock=clock)
        refusals.remember(ALICE, refusal(retry_after_seconds=20))
        clock.now += 20

        refusals.refuse_if_remembered(ALICE)

    def test_only_the_refused_user_is_refused(self) -> None:
        refusals = RateRefusals()
        refusals.remember(ALICE, refusal(retry_after_seconds=20))

        refusals.refuse_if_remembered(("urn:tasks-api:built-in", "bob"))
