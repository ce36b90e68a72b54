"""Which numbers this stack answers on: a message to any other is not ours to act on.

A number (new or existing) is known at deploy (``OUR_NUMBERS``). A pool's numbers change
without a deploy, so they are listed (``ListPoolOriginationIdentities``) when first needed
and listed again, at most every ``REFRESH_SECONDS``, when a message names a number the last
list did not have (a number just added to the pool).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from two_way_sms.phone import InvalidPhoneNumber, to_e164

REFRESH_SECONDS = 300


class OurNumbers:
    def __init__(
        self,
        numbers: Iterable[str] = (),
        *,
        sms_client: Any = None,
        pool_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._known = frozenset(numbers)
        self._client = sms_client
        self._pool_id = pool_id
        self._clock = clock
        self._listed_at: float | None = None

    @classmethod
    def from_environment(cls, environment: dict[str, str], sms_client: Any) -> OurNumbers:
        """``OUR_NUMBERS`` (E.164, comma-separated), or ``ORIGINATION_POOL_ID``; neither: not checked."""
        try:
            numbers = [to_e164(n) for n in environment.get("OUR_NUMBERS", "").split(",") if n.strip()]
        except InvalidPhoneNumber as error:
            raise RuntimeError(f"OUR_NUMBERS holds a value that is not a phone number: {error}") from None
        pool_id = environment.get("ORIGINATION_POOL_ID") or None
        return cls(numbers, sms_client=sms_client if pool_id else None, pool_id=pool_id)

    @property
    def checked(self) -> bool:
        return bool(self._known) or self._pool_id is not None

    def __contains__(self, number: str) -> bool:
        if not self.checked or number in self._known:
            return True
        if self._pool_id is not None and (
            self._listed_at is None or self._clock() - self._listed_at >= REFRESH_SECONDS
        ):
            self._known = self._known | self._list_pool()
            self._listed_at = self._clock()
            return number in self._known
        return False

    def _list_pool(self) -> frozenset[str]:
        numbers: set[str] = set()
        arguments: dict[str, Any] = {"PoolId": self._pool_id}
        while True:
            page = self._client.list_pool_origination_identities(**arguments)
            numbers.update(
                identity["PhoneNumber"]
                for identity in page.get("OriginationIdentities", [])
                if identity.get("PhoneNumber")
            )
            if not page.get("NextToken"):
                return frozenset(numbers)
            arguments["NextToken"] = page["NextToken"]
