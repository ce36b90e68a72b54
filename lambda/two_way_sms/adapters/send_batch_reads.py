"""What a send batch reads before planning, in one request: each request's outcome and each
destination's contact state, from two tables in one consistent BatchGetItem.

Read apart (``RequestOutcomes.get_many``, ``ContactsTable.contact_states``) they were two
requests a batch; a batch of ten texts (30 keys) fits one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from two_way_sms.adapters.batch_reads import batch_get_tables
from two_way_sms.adapters.contacts import contact_state_keys, contact_states_of
from two_way_sms.adapters.request_outcomes import RequestOutcome, outcome_key, outcomes_of
from two_way_sms.outbound.contact_state import ContactState


class SendBatchReads:
    def __init__(self, outbound_table: Any, contacts_table: Any) -> None:
        self._outbound, self._contacts = outbound_table, contacts_table  # boto3 DynamoDB Table resources
        self._client = outbound_table.meta.client

    def read(
        self, keys: Iterable[str], numbers: Iterable[str]
    ) -> tuple[dict[str, RequestOutcome], dict[str, ContactState]]:
        """The outcomes recorded for ``keys`` (a key with none left out) and every number's contact state."""
        unique_keys, unique_numbers = list(dict.fromkeys(keys)), list(dict.fromkeys(numbers))
        wanted = [(self._outbound.name, outcome_key(key)) for key in unique_keys] + [
            (self._contacts.name, key) for key in contact_state_keys(unique_numbers)
        ]
        found = batch_get_tables(self._client, wanted)
        return (
            outcomes_of(found.get(self._outbound.name, [])),
            contact_states_of(unique_numbers, found.get(self._contacts.name, [])),
        )
