"""The failure throttle: limits a key, forgets old failures, and cannot be washed out."""

from __future__ import annotations

import pytest

from yunfab.ratelimit import CredentialThrottle, FailureThrottle, TooManyFailures


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
    throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=True)
    throttle.begin("client|10.0.0.9")
    throttle.begin("client|10.0.0.9")
    with pytest.raises(TooManyFailures):  # 1 failed + 2 being checked: the limit
        throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=False)  # a finished attempt frees its place
    throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=True)
    throttle.end("client|10.0.0.9", failed=True)
    with pytest.raises(TooManyFailures):
        throttle.begin("client|10.0.0.9")
    throttle.begin("client|10.0.0.7")


def test_a_first_burst_on_a_clean_key_gets_no_more_checks_than_the_limit() -> None:
    """The probe after #15: a key with no failure yet did not count attempts in flight, so a
    guesser's first burst of concurrent bad secrets was checked in full, every window."""
    throttle = FailureThrottle(limit=10, window_s=60)
    refusals: list[TooManyFailures] = []
    for _ in range(50):
        try:
            throttle.begin("client|10.0.0.9")
        except TooManyFailures as refused:
            refusals.append(refused)
    assert len(refusals) == 40
    assert {refused.extra["retry_after_s"] for refused in refusals} == {1}


def test_a_client_that_succeeds_may_have_more_attempts_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replicas behind one address fetch tokens at once: after a success the key may have up
    to `in_flight_limit` attempts being checked, until the success is a window old."""
    clock = [1000.0]
    monkeypatch.setattr("yunfab.ratelimit.time.monotonic", lambda: clock[0])
    throttle = FailureThrottle(limit=3, window_s=60, in_flight_limit=8)
    throttle.begin("client|10.0.0.9")
    throttle.end("client|10.0.0.9", failed=False, succeeded=True)
    for _ in range(8):
        throttle.begin("client|10.0.0.9")
    with pytest.raises(TooManyFailures):  # the larger cap still holds
        throttle.begin("client|10.0.0.9")
    for _ in range(8):
        throttle.end("client|10.0.0.9", failed=False, succeeded=True)
    # Failures still count: a guesser sharing the address is stopped at the limit.
    for _ in range(3):
        throttle.begin("client|10.0.0.9")
        throttle.end("client|10.0.0.9", failed=True)
    with pytest.raises(TooManyFailures):
        throttle.begin("client|10.0.0.9")
    clock[0] += 61  # failures and success a window old: back to `limit` in flight
    for _ in range(3):
        throttle.begin("client|10.0.0.9")
    with pytest.raises(TooManyFailures):
        throttle.begin("client|10.0.0.9")


def test_credential_keys_are_digests_and_bounded_in_number() -> None:
    """A guesser picks the credential's length and how many it sprays: neither grows memory."""
    throttle = CredentialThrottle(per_credential=3, per_address=10_000, window_s=60, max_keys=10)
    for index in range(50):
        credential = f"{index}-" + "k" * 10_000
        throttle.failed(credential, "10.0.0.9")
        throttle.succeeded(credential, "10.0.0.9")
    assert len(throttle.credentials._failures) == 10
    assert len(throttle._succeeded) == 10
    assert max(len(key) for key in throttle.credentials._failures) < 64


def test_a_credential_that_succeeded_at_an_address_is_held_only_to_its_own_count() -> None:
    throttle = CredentialThrottle(per_credential=3, per_address=5, window_s=60)
    throttle.succeeded("device-a", "10.0.0.9")
    for index in range(5):
        throttle.failed(f"guess-{index}", "10.0.0.9")
    throttle.check("device-a", "10.0.0.9")
    throttle.check("device-a", "10.0.0.7")  # another address has its own count
    with pytest.raises(TooManyFailures):
        throttle.check("device-b", "10.0.0.9")
    with pytest.raises(TooManyFailures):
        throttle.check(None, "10.0.0.9")
    for _ in range(3):
        throttle.failed("device-a", "10.0.0.9")
    with pytest.raises(TooManyFailures):
        throttle.check("device-a", "10.0.0.9")
