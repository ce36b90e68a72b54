"""The idle-cost table (two_way_sms_cdk.costs): it covers every resource type of the default template, and
the README shows what the generator makes of it."""

from __future__ import annotations

from decimal import Decimal

from tests.infra.synth import REPO_ROOT
from two_way_sms_cdk import costs, costs_prices


def test_every_resource_type_of_the_default_template_is_priced_or_explained(default) -> None:
    template = default.template.to_json()
    table = costs.idle_cost_table(template)
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert table.unpriced == (), (
        f"price these in two_way_sms_cdk.costs_prices (or say why they are free): {table.unpriced}"
    )
    assert types <= table.covers()
    statuses = {costs_prices.OFFICIAL, costs_prices.SECONDARY, costs_prices.UNVERIFIED, costs.NO_IDLE_COST}
    assert {row.status for row in table.rows} <= statuses


def test_the_readme_shows_the_generated_table_for_the_default_config(default) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    generated = costs.markdown_table(costs.idle_cost_table(default.template.to_json()))
    assert costs.between_markers(readme) == generated, "run: python -m two_way_sms_cdk.costs README.md"


def test_the_default_stack_prices_what_it_holds(default) -> None:
    template = default.template.to_json()
    table = costs.idle_cost_table(template)
    keys = len(default.of_type("AWS::KMS::Key"))
    [kms] = [row for row in table.rows if row.resource_type == "AWS::KMS::Key"]
    assert kms.monthly_usd == keys * costs_prices.KMS_KEY.usd
    [stream] = [row for row in table.rows if row.resource_type == "AWS::Kinesis::Stream"]
    assert stream.monthly_usd == Decimal("10.95")  # one provisioned shard, 730 hours
    assert table.total_usd == sum(row.monthly_usd for row in table.rows)


def test_a_resource_type_the_price_table_does_not_know_is_reported_unpriced() -> None:
    template = {"Resources": {"Cache": {"Type": "AWS::ElastiCache::CacheCluster", "Properties": {}}}}
    table = costs.idle_cost_table(template)
    assert table.unpriced == ("AWS::ElastiCache::CacheCluster",)
    assert any("UNPRICED" in line for line in costs.format_table(table))


def test_an_on_demand_stream_is_priced_by_the_stream_hour() -> None:
    template = {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}}}
        }
    }
    [row] = costs.idle_cost_table(template).rows
    assert row.monthly_usd == costs_prices.KINESIS_STREAM_HOUR.usd * 730


def test_a_ten_dlc_number_adds_its_campaign_fee() -> None:
    template = {
        "Resources": {"Number": {"Type": "AWS::SMSVOICE::PhoneNumber", "Properties": {"NumberType": "TEN_DLC"}}}
    }
    rows = costs.idle_cost_table(template).rows
    assert [row.what for row in rows] == ["phone number lease (TEN_DLC)", "10DLC campaign (registered for the number)"]
