"""Which numbers the inbound handler answers on: a number's, or a pool's listed (and listed again)."""

from __future__ import annotations

import pytest

from two_way_sms.adapters.our_numbers import REFRESH_SECONDS, OurNumbers


class FakePoolApi:
    """``ListPoolOriginationIdentities`` over pages of two, counting calls."""

    def __init__(self, numbers: list[str]) -> None:
        self.numbers, self.calls = numbers, 0

    def list_pool_origination_identities(self, PoolId: str, NextToken: str | None = None) -> dict:
        self.calls += 1
        start = int(NextToken or 0)
        page = {
            "PoolId": PoolId,
            "OriginationIdentities": [
                {
                    "OriginationIdentity": f"phone-{n}",
                    "OriginationIdentityArn": "arn",
                    "IsoCountryCode": "US",
                    "NumberCapabilities": ["SMS"],
                    "PhoneNumber": n,
                }
                for n in self.numbers[start : start + 2]
            ],
        }
        if start + 2 < len(self.numbers):
            page["NextToken"] = str(start + 2)
        return page


def test_a_known_number_is_ours_and_any_other_is_not():
    ours = OurNumbers.from_environment({"OUR_NUMBERS": "+12125550101"}, sms_client=None)

    assert "+12125550101" in ours and "+12065550100" not in ours


def test_without_numbers_or_a_pool_nothing_is_checked():
    assert "+12065550100" in OurNumbers.from_environment({}, sms_client=None)


def test_a_value_that_is_not_a_number_fails_at_start():
    with pytest.raises(RuntimeError, match="OUR_NUMBERS"):
        OurNumbers.from_environment({"OUR_NUMBERS": "+1212555010199999"}, sms_client=None)


def test_a_pools_numbers_are_listed_across_pages_once_and_again_after_a_while_for_a_new_number():
    api = FakePoolApi(["+12125550101", "+12125550102", "+12125550103"])
    now = [0.0]
    ours = OurNumbers(sms_client=api, pool_id="pool-1", clock=lambda: now[0])

    assert "+12125550103" in ours and api.calls == 2  # two pages
    assert "+12065550100" not in ours and api.calls == 2  # listed moments ago: not asked again
    api.numbers.append("+12065550100")  # added to the pool
    now[0] = REFRESH_SECONDS
    assert "+12065550100" in ours
