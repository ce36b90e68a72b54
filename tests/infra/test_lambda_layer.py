"""The functions' dependencies layer, as built (and pruned) by ``two-way-sms-layer``, serves what the functions call."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from two_way_sms_cdk import lambda_dependencies

REPO_LAMBDA = lambda_dependencies.REQUIREMENTS.parents[2] / "lambda"

# Run with the layer's copies first on the path, as in the Lambda runtime: every jurisdiction's legal
# holidays for two years (holidays without its pruned translations), and a number's time zones.
PROBE = textwrap.dedent(
    """
    import sys
    sys.path[:0] = [{layer!r}, {runtime!r}]
    import holidays, phonenumbers
    assert holidays.__file__.startswith({layer!r}), holidays.__file__
    assert phonenumbers.__file__.startswith({layer!r}), phonenumbers.__file__
    from phonenumbers import timezone
    from two_way_sms.rules import calendar, table
    rules = table.load_rules()
    counted = 0
    for code, entry in rules.jurisdictions.items():
        if entry.legal_holidays is not None:
            for year in (2026, 2027):
                counted += len(calendar.legal_holidays(entry.legal_holidays, year))
    assert counted > 100, counted
    assert timezone.time_zones_for_number(phonenumbers.parse("+19075550100")) != ()
    print("ok", counted)
    """
)


def test_the_pruned_layer_computes_every_legal_holiday_and_time_zone():
    layer = lambda_dependencies.build(lambda_dependencies.layer_dir()) / "python"
    assert not (layer / "holidays" / "locale").exists()  # pruned: the translations are not read
    probe = PROBE.format(layer=str(layer), runtime=str(REPO_LAMBDA))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
