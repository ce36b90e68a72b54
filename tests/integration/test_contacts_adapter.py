"""The contacts table's outbound additions against moto: the contact's state in one read,
promotional sends with optimistic locking, imported contacts and keyword opt-ins."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.request_outcomes import RequestOutcomes
from two_way_sms.adapters.send_batch_reads import SendBatchReads
from two_way_sms.outbound.contacts_import import ContactImport
from two_way_sms.outbound.policy import ContactState
from two_way_sms.outbound.request import CampaignRef
from two_way_sms.responder import ConsentChange
from two_way_sms_local.emulation import REGION, create_outbound_table, create_tables

NUMBER = "+12065550123"
OUR_NUMBER = "+18445550100"
NOW = datetime(2026, 3, 4, 20, 0, tzinfo=timezone.utc)


@pytest.fixture
def table(emulated_aws):
    yield create_tables(boto3.resource("dynamodb", region_name=REGION))


@pytest.fixture
def contacts(table):
    return ContactsTable(table)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def consent(contacts: ContactsTable, change: ConsentChange, at: datetime, message_id: str, keyword: str) -> bool:
    return contacts.record_consent(
        number=NUMBER, change=change, at_ms=ms(at), message_id=message_id, keyword=keyword, our_number=OUR_NUMBER
    )


def profile(table: Any) -> dict:
    return table.get_item(Key={"phone_number": NUMBER, "record": "PROFILE"})["Item"]


def proofs(table: Any) -> list[dict]:
    return table.query(
        KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":n": NUMBER, ":p": "CONSENT#"},
    )["Items"]


# -- contact state ------------------------------------------------------------------------------
def test_an_unknown_number_has_the_empty_state(contacts):
    assert contacts.contact_state(NUMBER) == ContactState()


def test_the_state_combines_consent_and_promotional_sends(contacts):
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=1), "in-1", "START")
    campaign = CampaignRef(campaign_id="spring", run_id="r1")
    contacts.record_promotional_send(NUMBER, "spring:r1:x", campaign, NOW)

    state = contacts.contact_state(NUMBER)

    assert state.opted_in and not state.opted_out
    assert dict(state.recent_promotional) == {"spring:r1:x": NOW.timestamp()}
    assert dict(state.campaign_sends) == {"spring/r1": 1}


def test_batched_states_equal_single_reads_across_more_than_one_batch(contacts):
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=2), "in-1", "START")
    contacts.record_promotional_send(NUMBER, "k1", CampaignRef("c", "r"), NOW - timedelta(hours=1))
    others = [f"+1206555{n:04d}" for n in range(120)]  # 121 numbers: three BatchGetItem calls
    states = contacts.contact_states([NUMBER, *others, NUMBER])
    assert len(states) == 121
    assert states[NUMBER] == contacts.contact_state(NUMBER) != ContactState()
    assert all(states[number] == ContactState() for number in others)


def test_an_opt_out_after_an_opt_in_shows_both(contacts):
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=2), "in-1", "START")
    consent(contacts, ConsentChange.OPTED_OUT, NOW - timedelta(days=1), "in-2", "STOP")

    state = contacts.contact_state(NUMBER)
    assert state.opted_out and state.opted_in  # the policy refuses OPTED_OUT first
    assert contacts.is_opted_out(NUMBER)


# -- keyword opt-ins ------------------------------------------------------------------------------
def test_a_keyword_opt_in_records_the_first_opt_in_only(contacts, table):
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=3), "in-1", "START")
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=1), "in-2", "START")

    item = profile(table)
    assert item["opt_in_source"] == "KEYWORD"
    assert item["opt_in_at"] == (NOW - timedelta(days=3)).isoformat(timespec="milliseconds")
    assert item["opted_out"] is False


def test_an_opt_out_does_not_record_an_opt_in(contacts, table):
    consent(contacts, ConsentChange.OPTED_OUT, NOW, "in-1", "STOP")

    assert "opt_in_at" not in profile(table)
    assert not contacts.contact_state(NUMBER).opted_in


# -- promotional sends ----------------------------------------------------------------------------
def test_a_promotional_send_is_counted_once_per_key(contacts):
    assert contacts.record_promotional_send(NUMBER, "k1", None, NOW)
    assert not contacts.record_promotional_send(NUMBER, "k1", None, NOW + timedelta(minutes=5))

    assert dict(contacts.contact_state(NUMBER).recent_promotional) == {"k1": NOW.timestamp()}


def test_sends_older_than_seven_days_are_pruned(contacts, table):
    campaign = CampaignRef(campaign_id="winter", run_id="r1")
    contacts.record_promotional_send(NUMBER, "old", campaign, NOW - timedelta(days=8))
    contacts.record_promotional_send(NUMBER, "recent", None, NOW - timedelta(days=2))
    contacts.record_promotional_send(NUMBER, "new", None, NOW)

    state = contacts.contact_state(NUMBER)
    assert set(state.recent_promotional) == {"recent", "new"}
    assert dict(state.campaign_sends) == {}  # the run's last send is 8 days old
    item = table.get_item(Key={"phone_number": NUMBER, "record": "PROMOTIONAL_SENDS"})["Item"]
    assert item["version"] == 3 and item["expires_at"] == int(NOW.timestamp()) + 7 * 86400


def test_concurrent_writers_both_count_thanks_to_the_version_check(contacts, table):
    """Another sender writes between our read and our write: our write fails its version
    check, we read again and add our send on top of theirs."""
    other = ContactsTable(table)

    class Racing:
        def __init__(self) -> None:
            self.raced = False

        def get_item(self, **kwargs: Any) -> Any:
            item = table.get_item(**kwargs)
            if not self.raced:
                self.raced = True
                other.record_promotional_send(NUMBER, "theirs", None, NOW)
            return item

        def put_item(self, **kwargs: Any) -> Any:
            return table.put_item(**kwargs)

    ours = ContactsTable(Racing())

    assert ours.record_promotional_send(NUMBER, "ours", None, NOW)
    assert set(contacts.contact_state(NUMBER).recent_promotional) == {"theirs", "ours"}


def test_campaign_sends_are_counted_per_run(contacts):
    spring = CampaignRef(campaign_id="spring", run_id="r1", max_per_recipient=2)
    contacts.record_promotional_send(NUMBER, "a", spring, NOW)
    contacts.record_promotional_send(NUMBER, "b", spring, NOW)
    contacts.record_promotional_send(NUMBER, "c", CampaignRef(campaign_id="spring", run_id="r2"), NOW)

    assert dict(contacts.contact_state(NUMBER).campaign_sends) == {"spring/r1": 2, "spring/r2": 1}


# -- imports --------------------------------------------------------------------------------------
def test_an_imported_opt_in_is_recorded_with_its_proof_and_attributes(contacts, table):
    row = ContactImport(
        phone_number=NUMBER,
        opt_in_source="web-form",
        opt_in_at=NOW - timedelta(days=30),
        attributes={"city": "Seattle", "tier": "gold"},
    )

    assert contacts.import_contact(row)
    assert not contacts.import_contact(row)  # a re-import adds no second proof

    item = profile(table)
    assert item["attributes"] == {"city": "Seattle", "tier": "gold"}
    assert (item["opt_in_source"], item["opted_out"]) == ("web-form", False)
    [proof] = proofs(table)
    assert (proof["change"], proof["source"], proof["message_id"]) == ("OPTED_IN", "IMPORT", "import:web-form")
    assert contacts.contact_state(NUMBER).opted_in


def test_an_import_never_overrides_a_newer_opt_out(contacts):
    consent(contacts, ConsentChange.OPTED_OUT, NOW - timedelta(days=1), "in-1", "STOP")

    contacts.import_contact(
        ContactImport(phone_number=NUMBER, opt_in_source="web-form", opt_in_at=NOW - timedelta(days=30))
    )

    state = contacts.contact_state(NUMBER)
    assert state.opted_out  # the STOP is newer than the form
    assert contacts.is_opted_out(NUMBER)


def test_a_row_without_opt_in_imports_attributes_only(contacts, table):
    contacts.import_contact(ContactImport(phone_number=NUMBER, attributes={"city": "Seattle"}))

    assert profile(table)["attributes"] == {"city": "Seattle"}
    assert proofs(table) == []
    assert not contacts.contact_state(NUMBER).opted_in


def test_an_import_keeps_an_earlier_keyword_opt_in_on_record(contacts, table):
    consent(contacts, ConsentChange.OPTED_IN, NOW - timedelta(days=60), "in-1", "START")

    contacts.import_contact(
        ContactImport(
            phone_number=NUMBER,
            opt_in_source="store-42",
            opt_in_at=NOW - timedelta(days=30),
            attributes={"store": "42"},
        )
    )

    item = profile(table)
    assert (item["opt_in_source"], item["attributes"]) == ("KEYWORD", {"store": "42"})
    assert len(proofs(table)) == 2


# -- a send batch's reads ------------------------------------------------------------------------------
def test_a_send_batchs_outcomes_and_contacts_are_read_in_one_request(table, contacts):
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_outbound_table(resource)
    outbound = resource.Table("outbound")
    RequestOutcomes(outbound).record("k-1", "HELD", reason="QUIET_HOURS", at=NOW)
    consent(contacts, ConsentChange.OPTED_OUT, NOW, "in-1", "STOP")
    requests: list[str] = []
    outbound.meta.client.meta.events.register("before-call.dynamodb.BatchGetItem", lambda **_: requests.append("x"))

    outcomes, states = SendBatchReads(outbound, table).read(["k-1", "k-2", "k-1"], [NUMBER, "+12065550999"])

    assert len(requests) == 1
    assert {key: o.status for key, o in outcomes.items()} == {"k-1": "HELD"}
    assert states[NUMBER].opted_out and not states["+12065550999"].opted_out


def test_a_send_batch_of_more_than_a_hundred_keys_is_read_a_hundred_at_a_time(table, contacts):
    resource = boto3.resource("dynamodb", region_name=REGION)
    create_outbound_table(resource)
    outbound = resource.Table("outbound")
    consent(contacts, ConsentChange.OPTED_OUT, NOW, "in-1", "STOP")
    requests: list[int] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        requests.append(sum(len(wanted["Keys"]) for wanted in params["RequestItems"].values()))

    outbound.meta.client.meta.events.register("provide-client-params.dynamodb.BatchGetItem", count)
    numbers = [NUMBER] + [f"+1206555{n:04d}" for n in range(1, 45)]  # 45 numbers: 90 keys, and 45 outcomes

    _, states = SendBatchReads(outbound, table).read([f"k-{n}" for n in range(45)], numbers)

    assert requests == [100, 35] and states[NUMBER].opted_out and len(states) == 45
