"""The contact's recent promotional sends keep their subject; items stored before subjects read as unknown."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from two_way_sms.adapters.contacts import PROFILE, PROMOTIONAL_SENDS, ContactsTable
from two_way_sms.outbound.limits import OVER_STATE_LIMIT, limit_refusal
from two_way_sms.outbound.request import CampaignRef, SendRequest

NUMBER = "+13055550100"  # Florida: 3 per 24 h on the same subject (Fla. Stat. 501.616(6)(b))
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
EPOCH = Decimal(str(NOW.timestamp() - 60))


class RecordingTable:
    """Answers get_item/query with the items it holds and keeps what put_item writes (no conditions)."""

    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = {item["record"]: item for item in items}

    def get_item(self, Key: dict[str, str], **_: Any) -> dict[str, Any]:
        item = self.items.get(Key["record"])
        return {"Item": item} if item else {}

    def put_item(self, Item: dict[str, Any], **_: Any) -> None:
        self.items[Item["record"]] = Item

    def query(self, **_: Any) -> dict[str, Any]:
        return {"Items": list(self.items.values())}


def test_an_item_stored_before_subjects_reads_as_subject_unknown_and_counts_against_every_subject():
    old = {"phone_number": NUMBER, "record": PROMOTIONAL_SENDS, "recent": {"a": EPOCH, "b": EPOCH, "c": EPOCH}}
    profile = {"phone_number": NUMBER, "record": PROFILE, "opt_in_at": "2026-01-01T00:00:00Z"}
    state = ContactsTable(RecordingTable(profile, old)).contact_state(NUMBER)
    assert dict(state.promotional_subjects) == {}
    request = SendRequest(NUMBER, "PROMOTIONAL", "new", body="Sale", campaign=CampaignRef("summer", "r1", 5))
    assert limit_refusal(request, state, NOW, daily_limit=None, state="US-FL") == OVER_STATE_LIMIT


def test_a_send_stores_its_campaign_or_given_subject_beside_its_time():
    table = RecordingTable(
        {"phone_number": NUMBER, "record": PROMOTIONAL_SENDS, "recent": {"old": EPOCH}, "version": 1}
    )
    contacts = ContactsTable(table)
    assert contacts.record_promotional_send(NUMBER, "k1", CampaignRef("spring", "r1"), NOW)
    assert contacts.record_promotional_send(NUMBER, "k2", None, NOW, subject="template:sale")
    assert contacts.record_promotional_send(NUMBER, "k3", None, NOW)
    item = table.items[PROMOTIONAL_SENDS]
    assert set(item["recent"]) == {"old", "k1", "k2", "k3"}  # the previous release reads this map unchanged
    assert item["subjects"] == {"k1": "campaign:spring", "k2": "template:sale"}
    state = contacts.contact_state(NUMBER)
    assert dict(state.promotional_subjects) == {"k1": "campaign:spring", "k2": "template:sale"}
