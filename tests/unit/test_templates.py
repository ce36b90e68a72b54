"""Templates: plain named placeholders only, rendered without str.format's surprises."""

import pytest

from two_way_sms.outbound.templates import (
    Template,
    TemplateError,
    parse_template,
    render,
    templates_from_json,
    templates_to_json,
)

REMINDER = parse_template("reminder", "{first_name}, your appointment is {when}.", "TRANSACTIONAL")


def test_placeholders_are_the_named_fields():
    assert REMINDER.placeholders == frozenset({"first_name", "when"})
    assert parse_template("plain", "No fields here.", "TRANSACTIONAL").placeholders == frozenset()


def test_render_fills_in_the_variables_and_ignores_extra_ones():
    text = render(REMINDER, {"first_name": "Ana", "when": "Tue 10:00", "unused": "x"})
    assert text == "Ana, your appointment is Tue 10:00."


def test_doubled_braces_are_literal_braces():
    template = parse_template("braces", "Use code {{SAVE}} now, {name}", "TRANSACTIONAL")
    assert template.placeholders == {"name"}
    assert render(template, {"name": "Bo"}) == "Use code {SAVE} now, Bo"


def test_a_value_is_inserted_verbatim_never_interpreted():
    text = render(REMINDER, {"first_name": "{when}", "when": "{0.__class__}"})
    assert text == "{when}, your appointment is {0.__class__}."


def test_missing_variables_are_named_in_sorted_order():
    with pytest.raises(TemplateError, match="template reminder is missing variables: first_name, when"):
        render(REMINDER, {})


def test_a_repeated_placeholder_needs_one_variable():
    template = parse_template("twice", "{name}! {name}!", "TRANSACTIONAL")
    assert render(template, {"name": "Hi"}) == "Hi! Hi!"


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("Hello {0}", "{0} is positional"),
        ("Hello {}", "{} is positional"),
        ("Hello {user.name}", "{user.name} looks up an attribute"),
        ("Hello {names[0]}", "{names[0]} looks up an attribute or index"),
        ("Hello {name!r}", "{name!r} has a conversion"),
        ("Hello {name:>3}", "{name:>3} has a format spec"),
        ("Hello { name }", "has spaces"),
        ("Hello {name", "(write {{ and }} for literal braces)"),
        ("Hello name}", "Single '}'"),
    ],
)
def test_anything_but_a_plain_named_field_is_rejected_naming_template_and_field(body, fragment):
    with pytest.raises(TemplateError) as raised:
        parse_template("greeting", body, "TRANSACTIONAL")
    assert "template greeting" in str(raised.value) and fragment in str(raised.value)


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_a_template_body_must_have_1_to_1600_characters_not_only_whitespace(body):
    with pytest.raises(TemplateError, match="template t"):
        parse_template("t", body, "TRANSACTIONAL")


def test_template_ids_and_types_are_checked():
    with pytest.raises(TemplateError, match="template id"):
        parse_template("no spaces please", "hi", "TRANSACTIONAL")
    with pytest.raises(TemplateError, match="'MARKETING'"):
        parse_template("t", "hi", "MARKETING")


def test_templates_round_trip_through_json():
    promo = parse_template("spring_sale", "Hi {first_name}: 20% off with {{CODE}}", "PROMOTIONAL")
    text = templates_to_json([REMINDER, promo])
    assert templates_from_json(text) == {"reminder": REMINDER, "spring_sale": promo}
    assert templates_to_json({"reminder": REMINDER, "spring_sale": promo}) == text


def test_a_bad_template_in_json_fails_when_loaded():
    with pytest.raises(TemplateError, match="template broken: field {0}"):
        templates_from_json('{"broken": {"body": "Hi {0}"}}')
    with pytest.raises(TemplateError, match="unknown fields: type"):
        templates_from_json('{"t": {"body": "Hi", "type": "PROMOTIONAL"}}')


def test_a_template_id_defined_twice_is_refused():
    with pytest.raises(TemplateError, match="defined twice"):
        templates_to_json([REMINDER, Template("reminder", "other")])
