"""The failure throttle: limits a key, forgets old failures, and cannot be washed out."""

from __future__ import annotations

import pytest

from yunfab.ratelimit import FailureThrottle, TooManyFailures


def test_a_key_over_its_limit_is_refused_until_failures_age_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("yunfab.ratelimit.time.monotonic", lambda: clock[0])
    throttle = FailureThrottle(limit=3, window_s=60)
    for _ in range(3):
        throttle.check("client|10.0.0.9")
        throttle.failed("client|10.0.0.9")
    with pytest.raises(TooManyFailures) as refused:
        throttle.check("client|10.0.0.9")
    assert refused.value.extra["retry_after_s"] == 61
    throttle.check("client|10.0.0.7")  # another caller is not affected
    clock[0] += 61
    throttle.check("client|10.0.0.9")


def test_spraying_new_keys_cannot_wash_out_the_key_under_attack() -> None:
    throttle = FailureThrottle(limit=3, window_s=60, max_keys=10)
    for _ in range(3):
        throttle.failed("victim|1.2.3.4")
    for index in range(50):
        throttle.failed(f"spray-{index}|1.2.3.4")
        throttle.failed("victim|1.2.3.4")
    with pytest.raises(TooManyFailures):
        throttle.check("victim|1.2.3.4")


def test_attempts_still_being_checked_count_against_the_limit() -> None:
    """A burst of concurrent guesses cannot all pass the check before the first one fails."""
    throttle = FailureThrottle(limit=3, window_s=60)
    for _ in range(5):  # a client that has not failed may send many at once
        throttle.begin("client|10.0.0.9")
    for _ in range(5):
        throttle.end("client|10.0.0.9", failed=False)
    throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=True)
    throttle.begin("client|10.0.0.9")
    throttle.begin("client|10.0.0.9")
    with pytest.raises(TooManyFailures):  # 1 failed + 2 being checked: the limit
        throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=False)  # a right secret frees its place
    throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=True)
    throttle.end("client|10.0.0.9", failed=True)
    with pytest.raises(TooManyFailures):
        throttle.begin("client|10.0.0.9")
    throttle.begin("client|10.0.0.7")
