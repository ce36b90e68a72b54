"""Compliance rules as data: when and how often a promotional text may reach a recipient, per jurisdiction.

``solicitation_rules.json`` ships with the package (``RESEARCH.md`` beside it records the
sources and every judgement call); ``table`` reads and checks it, ``calendar`` computes a
jurisdiction's legal holidays, ``in_force`` says what applies for the configured countries
and ``readme`` prints the README's table. ``quiet_hours`` and ``outbound.limits`` apply it.
"""

from two_way_sms.rules.calendar import is_legal_holiday, legal_holidays
from two_way_sms.rules.in_force import RuleInForce, RulesInForce, report_lines, rules_in_force
from two_way_sms.rules.table import (
    FrequencyCap,
    HolidayRule,
    Jurisdiction,
    RulesError,
    RulesTable,
    Source,
    load_rules,
    parse_rules,
)
from two_way_sms.rules.windows import DailyWindow, Week

__all__ = [
    "DailyWindow",
    "FrequencyCap",
    "HolidayRule",
    "Jurisdiction",
    "RuleInForce",
    "RulesError",
    "RulesInForce",
    "RulesTable",
    "Source",
    "Week",
    "is_legal_holiday",
    "legal_holidays",
    "load_rules",
    "parse_rules",
    "report_lines",
    "rules_in_force",
]
