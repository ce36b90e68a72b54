"""The inbound use case with in-memory fakes of its ports: the order of its side effects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.reply_log import Claimed, Completed, InboundView, ReplyLogState
from two_way_sms.adapters.sms import RetryableSendError, SendRejected, SendResult
from two_way_sms.inbound import InboundMessage
from two_way_sms.reply_log import Entry, Status
from two_way_sms.responder import ConsentChange, ResponderSettings
from two_way_sms.services.answer_inbound import Delivery, InboundAnswerer

CUSTOMER, OURS = "+14255550182", "+12125550101"
SETTINGS = ResponderSettings(
    help_reply="Help: +1 206 555 0100",
    stop_reply="You are unsubscribed.",
    opt_in_reply="Subscribed again.",
    default_reply="Thanks!",
    self_managed_opt_outs=True,
)


@dataclass
class World:
    """The ports' state, and every side effect in the order it happened."""

    opted_out: bool = False
    consent_at: tuple[int, str] | None = None
    entries: dict[str, Entry] = field(default_factory=dict)
    reads: int = 0  # of the number's consent and log, before answering
    effects: list[str] = field(default_factory=list)
    fail: dict[str, Callable[[], Exception]] = field(default_factory=dict)  # effect -> error, once

    def effect(self, name: str) -> None:
        if name in self.fail:
            raise self.fail.pop(name)()
        self.effects.append(name)


class FakeReplyLog:
    """The reply log kept with the number's consent: a claim checks both in one step, as the table does."""

    def __init__(self, world: World) -> None:
        self.world = world

    def view(self, number: str) -> InboundView:
        self.world.reads += 1
        by = self.world.consent_at[1] if self.world.consent_at else None
        return InboundView(self.world.opted_out, self.read(number), by)

    def read(self, number: str) -> ReplyLogState:
        return ReplyLogState(dict(self.world.entries))

    def _free(self, key: str, replacing: Entry | None) -> bool:
        existing = self.world.entries.get(key)
        if replacing is not None:
            return existing == replacing
        return existing is None or existing.status is Status.NOT_SENT

    def claim(self, number: str, key: str, entry: Entry, *, needs_consent: bool, replacing: Entry | None = None):
        before = self.read(number)
        if not self._free(key, replacing) or (needs_consent and self.world.opted_out):
            return Claimed(False, before, self.world.opted_out)
        self.world.effect(f"log {entry.status.value}")
        self.world.entries[key] = entry
        return Claimed(True, before, self.world.opted_out)

    def write(self, number: str, key: str, entry: Entry, *, replacing: Entry | None = None) -> bool:
        if not self._free(key, replacing):
            return False
        self.world.effect(f"log {entry.status.value}")
        self.world.entries[key] = entry
        return True

    def complete(self, number: str, key: str, claim: Entry, outcome: Entry, *, forget=(), sent=None) -> Completed:
        self.world.effect(f"log {outcome.status.value}")
        self.world.entries[key] = outcome
        return Completed(True, False)


class FakeContacts:
    def __init__(self, world: World) -> None:
        self.world = world

    def record_consent(self, *, number: str, change: ConsentChange, at_ms: int, message_id: str, **_: Any):
        self.world.effect(f"record {change.value}")
        current = self.world.consent_at is None or (at_ms, message_id) >= self.world.consent_at
        if current:
            self.world.consent_at = (at_ms, message_id)
            self.world.opted_out = change is ConsentChange.OPTED_OUT
        return ConsentRecorded(new_proof=True, current=current)


class FakeGateway:
    def __init__(self, world: World) -> None:
        self.world = world

    def send_text(self, *, to: str, from_number: str, body: str, context: dict[str, str]) -> SendResult:
        self.world.effect(f"send {body}")
        return SendResult(message_id=f"m-{len(self.world.effects)}")

    def put_opted_out(self, number: str) -> None:
        self.world.effect("list")

    def delete_opted_out(self, number: str) -> None:
        self.world.effect("unlist")


class Quiet:
    def info(self, message: str, **fields: Any) -> None: ...

    def warning(self, message: str, **fields: Any) -> None: ...

    def count(self, metric: str, value: int = 1) -> None: ...


def answerer(world: World, now: list[float]) -> InboundAnswerer:
    return InboundAnswerer(
        responder=SETTINGS,
        reply_log=FakeReplyLog(world),
        contacts=FakeContacts(world),
        gateway=FakeGateway(world),
        telemetry=Quiet(),
        clock=lambda: now[0],
        sleep=lambda s: None,
    )


def text(body: str, message_id: str = "in-1") -> InboundMessage:
    return InboundMessage(message_id, CUSTOMER, OURS, body, None, None)


def deliver(
    service: InboundAnswerer, body: str, message_id: str = "in-1", *, sent_at: float = 1000.0, last: bool = False
):
    return service.answer(
        text(body, message_id), Delivery(sent_at_ms=int(sent_at * 1000), remaining_seconds=30, last_attempt=last)
    )


def sends(world: World) -> list[str]:
    return [effect for effect in world.effects if effect.startswith("send")]


def test_an_opt_out_is_owed_then_recorded_then_confirmed_then_listed():
    world, now = World(), [1000.0]

    deliver(answerer(world, now), "STOP")

    assert world.effects == [
        "log NOT_SENT",
        "record OPTED_OUT",
        "log SENDING",
        "send You are unsubscribed.",
        "log SENT",
        "list",
    ]


def test_a_confirmation_that_failed_is_sent_on_the_retry_though_the_number_is_now_opted_out():
    world, now = World(), [1000.0]
    world.fail["send You are unsubscribed."] = lambda: RetryableSendError("ThrottlingException")
    service = answerer(world, now)

    with pytest.raises(RetryableSendError):
        deliver(service, "STOP")
    now[0] += 180
    deliver(service, "STOP")

    assert sends(world) == ["send You are unsubscribed."] and world.effects[-1] == "list"


def test_the_last_receive_records_and_lists_and_gives_the_confirmation_up():
    world, now = World(), [1000.0]

    deliver(answerer(world, now), "STOP", last=True)

    assert world.effects == ["record OPTED_OUT", "list"]


def test_a_last_receive_under_a_failing_table_still_lists_an_opt_out_an_earlier_receive_recorded():
    world, now = World(), [1000.0]
    world.fail["send You are unsubscribed."] = lambda: RetryableSendError("ThrottlingException")
    service = answerer(world, now)
    with pytest.raises(RetryableSendError):
        deliver(service, "STOP")  # recorded, then the confirmation failed: not listed yet
    world.fail["record OPTED_OUT"] = lambda: RuntimeError("the table is unreachable")
    now[0] += 720

    deliver(service, "STOP", last=True)

    assert world.effects.count("record OPTED_OUT") == 1 and world.effects[-1] == "list"
    assert "record OPTED_OUT" in world.fail  # never written again: this message's opt-out already stood


def test_a_confirmation_refused_for_good_still_lists_the_number():
    world, now = World(), [1000.0]
    world.fail["send You are unsubscribed."] = lambda: SendRejected("ServiceQuotaExceededException", "spend limit")

    deliver(answerer(world, now), "STOP")

    assert world.opted_out and world.effects[-1] == "list" and sends(world) == []


def test_an_older_stop_after_a_newer_start_changes_nothing():
    world, now = World(), [1000.0]
    service = answerer(world, now)
    deliver(service, "START", "in-start", sent_at=2000.0)
    world.effects.clear()

    deliver(service, "STOP", "in-stop", sent_at=1500.0)  # the customer sent it first; it reached us last

    assert not world.opted_out and "list" not in world.effects and sends(world) == []


def test_a_redelivered_message_sends_nothing_more():
    world, now = World(), [1000.0]
    service = answerer(world, now)
    deliver(service, "hello")
    now[0] += 600

    deliver(service, "hello")

    assert sends(world) == ["send Thanks!"]


def test_an_opted_out_number_gets_help_but_no_default_reply():
    world, now = World(opted_out=True), [1000.0]
    service = answerer(world, now)

    deliver(service, "hello", "in-1")
    deliver(service, "HELP", "in-2")

    assert sends(world) == ["send Help: +1 206 555 0100"]


def test_a_claim_whose_answer_was_lost_and_cannot_be_read_back_is_given_back_and_sent_on_the_retry():
    world, now = World(), [1000.0]
    log = FakeReplyLog(world)
    claim, view = log.claim, log.view
    failing = {"claims": 1, "views": 3}

    def written_but_answer_lost(*args, **kwargs):
        result = claim(*args, **kwargs)
        if failing["claims"]:
            failing["claims"] -= 1
            raise TimeoutError("the claim's answer was lost")
        return result

    def unreadable(number):
        if failing["views"]:
            failing["views"] -= 1
            raise TimeoutError("throttled")
        return view(number)

    log.claim, log.view = written_but_answer_lost, unreadable  # type: ignore[method-assign]
    service = InboundAnswerer(
        responder=SETTINGS,
        reply_log=log,
        contacts=FakeContacts(world),
        gateway=FakeGateway(world),
        telemetry=Quiet(),
        clock=lambda: now[0],
        sleep=lambda s: None,
    )

    with pytest.raises(TimeoutError):
        deliver(service, "hello")
    now[0] += 600  # past the claim's deadline: a claim left behind would read as an unknown outcome
    deliver(service, "hello")

    assert sends(world) == ["send Thanks!"]


def test_a_business_reply_to_a_number_opted_out_without_a_read_sends_nothing_and_reads_nothing_first():
    world, now = World(opted_out=True), [1000.0]

    answer = deliver(answerer(world, now), "hello")

    assert answer.path == "opted_out" and sends(world) == [] and world.reads == 0
