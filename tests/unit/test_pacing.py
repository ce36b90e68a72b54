"""Pacing to the number's parts per second, on a simulated clock."""

from __future__ import annotations

import random

import pytest

from two_way_sms.pacing import DEFAULT_MPS, reserve


def simulate_burst(messages: int, mps: float, seed: int = 3) -> list[tuple[float, int]]:
    """A burst of ``messages`` sends of 1-3 parts, all asking at t=0; returns (send time, parts)."""
    rng = random.Random(seed)
    next_free_at, sends = 0.0, []
    for _ in range(messages):
        parts = rng.choice((1, 1, 1, 2, 3))
        reservation = reserve(now=0.0, next_free_at=next_free_at, parts=parts, mps=mps)
        next_free_at = reservation.next_free_at
        sends.append((reservation.send_at, parts))
    return sends


@pytest.mark.parametrize("mps", [1.0, 3.0, 100.0])
def test_no_one_second_window_carries_more_parts_than_the_mps_allows(mps):
    sends = simulate_burst(2000, mps)
    for start, _ in sends:
        in_window = sum(parts for at, parts in sends if start <= at < start + 1.0)
        # The send that starts a window may itself take up to 3 parts.
        assert in_window <= mps + 3


def test_a_steady_backlog_runs_at_the_configured_rate():
    sends = simulate_burst(10_000, 100.0)
    last_at, _ = sends[-1]
    total_parts = sum(parts for _, parts in sends)
    achieved = (total_parts - sends[-1][1]) / last_at
    assert 0.95 <= achieved / 100.0 <= 1.0


def test_a_send_after_an_idle_spell_goes_at_once():
    reservation = reserve(now=500.0, next_free_at=12.0, parts=2, mps=1.0)
    assert reservation.send_at == 500.0 and reservation.next_free_at == 502.0


def test_defaults_cover_each_number_type_and_bad_input_is_refused():
    assert DEFAULT_MPS["TEN_DLC"] == 1.0 and DEFAULT_MPS["TOLL_FREE"] == 3.0 and DEFAULT_MPS["SHORT_CODE"] == 100.0
    with pytest.raises(ValueError, match="parts 0"):
        reserve(now=0.0, next_free_at=0.0, parts=0, mps=1.0)
    with pytest.raises(ValueError, match="mps 0"):
        reserve(now=0.0, next_free_at=0.0, parts=1, mps=0)
