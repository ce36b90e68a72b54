"""The carriers' rules for HELP and STOP replies, as the domain states them."""

import pytest

from two_way_sms.compliance import help_reply_problem, stop_reply_problem


@pytest.mark.parametrize(
    "reply",
    [
        "Example Clinic: call +1 206 555 0100 for help.",
        "Example Clinic: help at example.com/sms.",
        "Example Clinic: write to help@example.com.",
    ],
)
def test_a_help_reply_with_a_phone_number_url_or_email_is_accepted(reply):
    assert help_reply_problem(reply) is None


def test_a_help_reply_without_contact_details_is_refused_naming_the_reply():
    problem = help_reply_problem("Example Clinic: we are here to help.")

    assert problem is not None and "contact information" in problem and "we are here to help" in problem


@pytest.mark.parametrize(
    "reply",
    [
        "You are unsubscribed and will receive no more messages.",
        "You have opted out. Reply START to resubscribe.",
        "You won't receive further texts from Example Clinic.",
    ],
)
def test_a_stop_reply_that_confirms_messages_stop_is_accepted(reply):
    assert stop_reply_problem(reply) is None


def test_a_stop_reply_that_does_not_confirm_is_refused_with_an_example():
    problem = stop_reply_problem("Thanks for your message!")

    assert problem is not None and "must confirm that messages will stop" in problem
