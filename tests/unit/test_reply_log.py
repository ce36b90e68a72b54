"""The reply log's decisions: at most once per reply, the unknown outcome by kind, the reply limits."""

from __future__ import annotations

import pytest

from two_way_sms.reply_log import (
    KEEP_SECONDS,
    RESEND_WHEN_UNKNOWN,
    Entry,
    ReplyKind,
    ReplyLimits,
    Status,
    Verdict,
    claimed,
    entry_key,
    expired,
    finished,
    plan,
    text_hash,
)

NOW = 1_800_000_000.0
LIMITS = ReplyLimits()
KEY = entry_key("in-9", 0)


def sent(at: float, text: str = "some reply", kind: ReplyKind = ReplyKind.REPLY) -> Entry:
    return finished(claimed(kind, text_hash(text), now=at, until=at + 30), Status.SENT, message_id="m")


def log_of(*entries: Entry) -> dict[str, Entry]:
    return {entry_key(f"earlier-{i}", 0): entry for i, entry in enumerate(entries)}


def verdict(
    entries: dict[str, Entry], *, kind: ReplyKind = ReplyKind.REPLY, text: str = "a new reply", now: float = NOW
) -> Verdict:
    return plan(entries, KEY, kind=kind, digest=text_hash(text), now=now, limits=LIMITS).verdict


# -- at most once ---------------------------------------------------------------------------------
def test_a_reply_not_in_the_log_is_sent():
    assert verdict({}) is Verdict.SEND


@pytest.mark.parametrize("status", [Status.SENT, Status.FAILED, Status.SUPPRESSED, Status.UNKNOWN])
def test_a_reply_with_an_outcome_is_never_sent_again(status):
    entry = finished(claimed(ReplyKind.REPLY, "h", now=NOW - 200, until=NOW - 170), status)

    assert verdict({KEY: entry}) is Verdict.DONE


def test_a_reply_that_surely_did_not_go_is_sent_on_the_retry():
    entry = finished(claimed(ReplyKind.REPLY, "h", now=NOW - 200, until=NOW - 170), Status.NOT_SENT)

    assert verdict({KEY: entry}) is Verdict.SEND


def test_a_claim_held_by_a_live_invocation_is_in_flight():
    assert verdict({KEY: claimed(ReplyKind.REPLY, "h", now=NOW - 5, until=NOW + 25)}) is Verdict.IN_FLIGHT


# -- unknown outcomes, by kind --------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(ReplyKind))
def test_a_claim_whose_invocation_died_is_an_unknown_outcome_and_no_kind_is_sent_again(kind):
    stale = claimed(kind, "h", now=NOW - 200, until=NOW - 170)

    result = plan({KEY: stale}, KEY, kind=kind, digest="h", now=NOW, limits=LIMITS)

    assert result.verdict is Verdict.UNKNOWN


def test_a_kind_set_to_be_sent_again_after_an_unknown_outcome_is_claimed_again(monkeypatch):
    monkeypatch.setitem(RESEND_WHEN_UNKNOWN, ReplyKind.HELP, True)
    stale = claimed(ReplyKind.HELP, "h", now=NOW - 200, until=NOW - 170)

    result = plan({KEY: stale}, KEY, kind=ReplyKind.HELP, digest="h", now=NOW, limits=LIMITS)

    assert (result.verdict, result.resent_after_unknown) == (Verdict.SEND, True)


# -- reply limits ---------------------------------------------------------------------------------
def test_five_replies_in_ten_minutes_suppress_the_sixth():
    recent = log_of(*(sent(NOW - 60 * i, f"reply {i}") for i in range(5)))

    assert plan(recent, KEY, kind=ReplyKind.REPLY, digest="new", now=NOW, limits=LIMITS).reason == "WINDOW"


def test_replies_older_than_the_window_do_not_count_towards_it():
    older = log_of(*(sent(NOW - 601 - i, f"reply {i}") for i in range(5)))

    assert verdict(older) is Verdict.SEND


def test_twenty_replies_in_a_day_suppress_the_next():
    day = log_of(*(sent(NOW - 3600 * (i + 1) / 2, f"reply {i}") for i in range(20)))

    assert plan(day, KEY, kind=ReplyKind.REPLY, digest="new", now=NOW, limits=LIMITS).reason == "DAY"


def test_the_same_text_within_five_minutes_is_suppressed_so_two_bots_cannot_loop():
    assert (
        verdict(log_of(sent(NOW - 120, "Thanks for your message")), text="Thanks for your message")
        is Verdict.SUPPRESSED
    )
    assert verdict(log_of(sent(NOW - 301, "Thanks for your message")), text="Thanks for your message") is Verdict.SEND


@pytest.mark.parametrize("kind", [ReplyKind.OPT_OUT_CONFIRMATION, ReplyKind.OPT_IN_CONFIRMATION])
def test_consent_confirmations_are_exempt_from_the_limits(kind):
    flooded = log_of(*(sent(NOW - i, f"reply {i}") for i in range(20)))

    assert verdict(flooded, kind=kind) is Verdict.SEND


def test_confirmations_and_suppressed_or_failed_replies_do_not_count_towards_the_limits():
    confirmations = [sent(NOW - i, "You are unsubscribed", ReplyKind.OPT_OUT_CONFIRMATION) for i in range(5)]
    not_sent = [
        finished(claimed(ReplyKind.REPLY, f"h{i}", now=NOW - i, until=NOW), Status.SUPPRESSED) for i in range(5)
    ]

    assert verdict(log_of(*confirmations, *not_sent)) is Verdict.SEND


@pytest.mark.parametrize("field, value", [("per_window", -1), ("per_day", 1.5), ("window_seconds", True)])
def test_limits_must_be_whole_numbers(field, value):
    with pytest.raises(ValueError, match=field):
        ReplyLimits(**{field: value})


def test_the_window_cannot_allow_more_than_the_day():
    with pytest.raises(ValueError, match="per_window 30"):
        ReplyLimits(per_window=30, per_day=20)


# -- keeping ----------------------------------------------------------------------------------------
def test_entries_are_kept_past_the_dead_letter_queues_retention_then_forgotten():
    entries = {"old": sent(NOW - KEEP_SECONDS - 1), "kept": sent(NOW - 14 * 86400)}

    assert expired(entries, NOW) == ["old"]


def test_the_text_hash_is_short_and_never_the_text():
    digest = text_hash("Your code is 123456")

    assert len(digest) == 16 and "123456" not in digest
