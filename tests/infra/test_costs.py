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


# -- issue 15: the goal, and what stands in its way ---------------------------------------------------
def test_the_default_stack_has_one_key_and_a_flow_that_takes_codes_adds_their_hmac_key(
    default, toll_free_self_managed
) -> None:
    """The inbound topic is on the data key (End User Messaging may use it for that topic only)."""
    assert costs.idle_cost_table(default.template.to_json()).key_boundaries == ("data",)
    assert costs.idle_cost_table(toll_free_self_managed.template.to_json()).key_boundaries == ("codes", "data")


def test_a_key_only_end_user_messaging_uses_is_a_topic_key_and_one_that_also_stores_logs_is_the_data_key() -> None:
    sms_voice = {"Principal": {"Service": "sms-voice.amazonaws.com"}}
    logs = {"Principal": {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}
    assert costs.key_boundary({"KeyPolicy": {"Statement": [sms_voice]}}) == "topic"
    assert costs.key_boundary({"KeyPolicy": {"Statement": [sms_voice, logs]}}) == "data"
    assert costs.key_boundary({"KeySpec": "HMAC_256"}) == "codes"


def test_the_dashboard_is_built_only_when_the_config_asks(default, toll_free_self_managed) -> None:
    assert not default.of_type("AWS::CloudWatch::Dashboard")
    assert "DashboardName" not in default.template.to_json()["Outputs"]
    assert len(toll_free_self_managed.of_type("AWS::CloudWatch::Dashboard")) == 1
    assert "DashboardName" in toll_free_self_managed.template.to_json()["Outputs"]
    table = costs.idle_cost_table(toll_free_self_managed.template.to_json())
    [dashboard] = [row for row in table.rows if row.resource_type == "AWS::CloudWatch::Dashboard"]
    assert dashboard.monthly_usd == costs_prices.DASHBOARD.usd
    assert dashboard not in [row for row, _ in table.in_the_way()], "an opt-in is not in the way"


def test_over_the_goal_the_table_says_what_stands_in_the_way_and_why() -> None:
    template = {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 1}},
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {"DashboardBody": "{}"}},
            "Topic": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Statement": [{"Principal": {"Service": "sms-voice.amazonaws.com"}}]}},
            },
            "Data": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": True}},
            "Codes": {"Type": "AWS::KMS::Key", "Properties": {"KeySpec": "HMAC_256"}},
        }
    }
    table = costs.idle_cost_table(template)
    assert table.total_usd == Decimal("16.95") and table.over_goal_usd == Decimal("1.95")
    goal, *lines = table.goal_lines()
    assert goal == "GOAL at most $15.00 a month: $1.95 over. What stands in the way, kept on purpose:"
    assert lines[0].startswith("$10.95 Kinesis stream, PROVISIONED, 1 shard: the delivery-event stream")
    assert lines[1].startswith("$3.00 KMS keys (customer managed): an inbound topic's own")
    assert "HMAC key of one-use codes" in lines[1] and "data key of every store" in lines[1]
    assert not any("dashboard" in line for line in lines)
    assert goal in costs.format_table(table)[-len(lines) - 3 :] and goal in costs.markdown_table(table)


def test_within_the_goal_the_table_says_it_is_met() -> None:
    template = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {}}}}
    assert costs.idle_cost_table(template).goal_lines() == ["GOAL at most $15.00 a month: met ($1.00)"]


def test_the_default_stack_meets_the_goal_and_what_it_left_out_is_priced_apart(default, toll_free_self_managed) -> None:
    """One key, no function-error alarms, no code flow, no dashboard: the opt-ins add what they cost."""
    table = costs.idle_cost_table(default.template.to_json())
    assert table.over_goal_usd == 0
    assert table.goal_lines() == [f"GOAL at most $15.00 a month: met (${table.total_usd:.2f})"]
    opted_in = costs.idle_cost_table(toll_free_self_managed.template.to_json())
    by_type = {row.resource_type: row.monthly_usd for row in opted_in.rows}
    assert by_type["AWS::KMS::Key"] == 2 * costs_prices.KMS_KEY.usd  # the data key and the codes' HMAC key
    assert by_type["AWS::CloudWatch::Dashboard"] == costs_prices.DASHBOARD.usd


def test_the_table_prices_each_opt_in_the_stack_leaves_off(default, toll_free_self_managed) -> None:
    """The default stack has no dashboard, function-error alarms or flow that takes codes; the variant all three."""
    table = costs.idle_cost_table(default.template.to_json())
    assert table.left_out == (
        "the dashboard +$3.00 (monitoring.dashboard)",
        "an alarm per function that keeps failing +$0.40 (4 functions, monitoring.function_error_alarms)",
        "a flow that takes one-use codes (transaction) +$1.00 (their HMAC key)",
    )
    assert any(line.startswith("Opt-ins left off, each alone: the dashboard") for line in costs.format_table(table))
    assert costs.idle_cost_table(toll_free_self_managed.template.to_json()).left_out == ()


def test_a_template_without_the_packages_functions_has_no_opt_ins_to_price() -> None:
    template = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {}}}}
    assert costs.idle_cost_table(template).left_out == ()
