"""A node cut off from its hub keeps retrying however long it lasts: the retry delay stays
within its cap after any number of attempts (2 ** 1024 is beyond a float; a node retrying
every 0.2 s got there in three and a half minutes and its link stopped for good)."""

from __future__ import annotations

from regional_node.hub_link.link import Backoff


def test_the_retry_delay_stays_capped_after_any_number_of_attempts() -> None:
    backoff = Backoff(initial_s=0.05, max_s=0.2)
    for attempt in (1, 2, 3, 1023, 1024, 1025, 10**6):
        delay = backoff.delay(attempt)
        assert 0 < delay <= 0.2
    assert backoff.delay(1) <= 0.05
    assert backoff.delay(10**6) >= 0.1  # half the cap at least: full jitter over the cap
