"""Pacing to the number's parts per second: the window rule, the line, packing, the horizon."""

from __future__ import annotations

import math
import random

import pytest

from two_way_sms.pacing import DEFAULT_MPS, MIN_GAP, Schedule, Slot, Wanted, book, to_microseconds

NOW = 1_772_647_200.0  # an epoch second, so float noise at real magnitudes is exercised


def burst(
    messages: int,
    mps: float,
    *,
    sizes=(1, 1, 1, 1, 1, 1, 1, 2, 2, 3),
    batch: int = 10,
    seed: int = 3,
    invocations: int = 2,
) -> list[tuple[float, int]]:
    """``messages`` texts taken in batches by ``invocations`` interleaved invocations, each booking
    its batch at once and coming back for the next after its last slot; (send time, parts)."""
    rng = random.Random(seed)
    parts = [rng.choice(sizes) for _ in range(messages)]
    schedule, sends = Schedule(), []
    free_at = [NOW] * invocations
    while parts:
        turn = min(range(invocations), key=lambda i: free_at[i])
        taken, parts = parts[:batch], parts[batch:]
        schedule, bookings = book(schedule, [Wanted(p) for p in taken], mps=mps, now=free_at[turn], horizon=math.inf)
        sends += [(b.at, p) for b, p in zip(bookings, taken)]
        free_at[turn] = max(b.at for b in bookings) + 0.05
    return sorted(sends)


def window_breaches(sends: list[tuple[float, int]], mps: float) -> list[float]:
    """Sends whose trailing second (theirs included) holds more than max(mps, their parts)."""
    return [at for at, parts in sends if sum(p for t, p in sends if at - 1 < t <= at) > max(mps, parts) + 1e-9]


def ratio(sends: list[tuple[float, int]], mps: float) -> float:
    """Parts per second over the MPS; the burst ends when the last parts' share of the second is used."""
    end = max(at + parts / mps for at, parts in sends)
    return sum(p for _, p in sends) / (end - sends[0][0]) / mps


@pytest.mark.parametrize("mps", [1.0, 3.0, 10.0, 100.0])
def test_no_second_ever_carries_more_parts_than_the_mps_allows(mps):
    sends = burst(600 if mps < 100 else 3000, mps)

    assert window_breaches(sends, mps) == []


@pytest.mark.parametrize("mps", [1.0, 3.0, 10.0, 100.0])
def test_a_one_part_burst_runs_at_exactly_the_mps(mps):
    sends = burst(1000, mps, sizes=(1,))

    assert ratio(sends, mps) == pytest.approx(1.0, abs=1e-4)
    assert ratio(sends, mps) <= 1.0 + 1e-9


@pytest.mark.parametrize("mps, at_least", [(1.0, 0.999), (3.0, 0.93), (10.0, 0.98), (100.0, 0.99)])
def test_a_mixed_burst_stays_close_to_the_mps_and_never_above_it(mps, at_least):
    # 3 MPS is the hard case: a 3-part text needs a second to itself, so smooth 1-part sends
    # around it lose a little of each second it touches.
    sends = burst(1500 if mps < 100 else 4000, mps)

    assert at_least <= ratio(sends, mps) <= 1.0 + 1e-9


def test_one_part_sends_on_an_idle_number_are_spaced_evenly():
    _, bookings = book(Schedule(), [Wanted(1)] * 4, mps=3.0, now=NOW, horizon=5)

    assert [b.at - NOW for b in bookings] == pytest.approx([0, 1 / 3, 2 / 3, 1], abs=2e-6)


def test_on_a_tie_the_larger_text_goes_first_and_a_smaller_one_fills_the_gap_it_leaves():
    _, bookings = book(Schedule(), [Wanted(1), Wanted(2), Wanted(2)], mps=3.0, now=NOW, horizon=5)

    one, two, other_two = (b.at - NOW for b in bookings)
    assert two == pytest.approx(0, abs=2e-6)  # the 2-part first: an empty second
    assert one == pytest.approx(2 / 3, abs=2e-6)  # 2 + 1 parts fit in the second before it
    assert other_two == pytest.approx(1, abs=2e-6)  # needs the first 2-part out of its second


def test_a_slot_another_invocation_booked_later_is_respected_for_every_second_it_ends():
    # A 3-part text booked half a second from now takes its whole second: nothing may go before it in that second.
    theirs = Schedule(
        next_free_at=to_microseconds(NOW + 1.5),
        busy_until=to_microseconds(NOW + 1.5),
        slots=(Slot(to_microseconds(NOW + 0.5), 3),),
    )

    _, [booking] = book(theirs, [Wanted(1)], mps=3.0, now=NOW, horizon=5)

    assert booking.at == pytest.approx(NOW + 1.5, abs=2e-6)


def test_a_one_part_text_fills_a_gap_before_a_later_booking_when_the_window_allows():
    later = Schedule(
        next_free_at=to_microseconds(NOW),
        busy_until=to_microseconds(NOW + 3.0),
        slots=(Slot(to_microseconds(NOW + 2.0), 2),),
    )

    _, [booking] = book(later, [Wanted(1)], mps=3.0, now=NOW, horizon=5)

    assert booking.at == pytest.approx(NOW, abs=2e-6)  # 1 + 2 parts in the second ending at the 2-part


def test_time_lost_to_the_window_is_made_up_while_the_number_is_busy():
    # Two 2-part texts: the second waits a whole second for the first to leave its window...
    schedule, first = book(Schedule(), [Wanted(2), Wanted(2)], mps=3.0, now=NOW, horizon=5)
    # ...so the line (4/3 s) is behind the last slot (1 s + 2/3): the next one-part texts catch up.
    _, ones = book(schedule, [Wanted(1)] * 2, mps=3.0, now=NOW + 0.1, horizon=5)

    assert [b.at - NOW for b in first] == pytest.approx([0, 1], abs=2e-6)
    assert [b.at - NOW for b in ones] == pytest.approx([4 / 3, 2], abs=2e-6)
    assert abs(schedule.next_free_at - to_microseconds(NOW + 4 / 3)) <= 2  # the line, behind the slots


def test_an_idle_number_books_at_once_whatever_its_old_line():
    old = Schedule(next_free_at=to_microseconds(NOW - 500), busy_until=to_microseconds(NOW - 499))

    schedule, [booking] = book(old, [Wanted(2)], mps=1.0, now=NOW, horizon=5)

    assert booking.at == pytest.approx(NOW, abs=2e-6)
    assert schedule.next_free_at == to_microseconds(NOW) + 2_000_000


def test_slots_beyond_the_horizon_are_not_booked_but_projected():
    schedule, bookings = book(Schedule(), [Wanted(1)] * 8, mps=1.0, now=NOW, horizon=5)

    assert [b.booked for b in bookings] == [True] * 6 + [False] * 2
    assert [b.at - NOW for b in bookings] == pytest.approx(list(range(8)), abs=2e-6)
    assert len(schedule.slots) == 6 and schedule.next_free_at == to_microseconds(NOW) + 6_000_000


def test_not_before_holds_a_text_back_to_a_stricter_schedules_slot():
    _, [booking] = book(Schedule(), [Wanted(1, not_before=NOW + 2.5)], mps=3.0, now=NOW, horizon=5)

    assert booking.at == pytest.approx(NOW + 2.5, abs=2e-6)


def test_no_two_slots_share_an_instant():
    sends = burst(300, 100.0, invocations=5)

    times = [to_microseconds(at) for at, _ in sends]
    assert all(b - a >= MIN_GAP - 1 for a, b in zip(times, times[1:]))


def test_slots_that_left_the_window_are_dropped_from_the_schedule():
    schedule, _ = book(Schedule(), [Wanted(1)] * 3, mps=3.0, now=NOW, horizon=5)

    later, _ = book(schedule, [Wanted(1)], mps=3.0, now=NOW + 10, horizon=5)

    assert [slot.at for slot in later.slots] == [to_microseconds(NOW + 10)]


def test_defaults_cover_each_number_type_and_bad_input_is_refused():
    assert DEFAULT_MPS["TEN_DLC"] == 1.0 and DEFAULT_MPS["TOLL_FREE"] == 3.0 and DEFAULT_MPS["SHORT_CODE"] == 100.0
    with pytest.raises(ValueError, match="parts 0"):
        book(Schedule(), [Wanted(0)], mps=1.0, now=NOW, horizon=5)
    with pytest.raises(ValueError, match="mps 0"):
        book(Schedule(), [Wanted(1)], mps=0, now=NOW, horizon=5)


def test_a_batchs_own_slots_keep_their_spacing_and_another_batch_fills_the_gaps():
    # One invocation sends its batch one text after another: slots closer than its time a text would be sent late.
    schedule, mine = book(Schedule(), [Wanted(1, spacing=0.07)] * 5, mps=100.0, now=NOW, horizon=5)
    _, theirs = book(schedule, [Wanted(1, spacing=0.07)] * 5, mps=100.0, now=NOW + 0.001, horizon=5)

    assert [b.at - NOW for b in mine] == pytest.approx([0, 0.07, 0.14, 0.21, 0.28], abs=2e-6)
    assert [b.at - NOW for b in theirs] == pytest.approx([0.05, 0.12, 0.19, 0.26, 0.33], abs=2e-6)
