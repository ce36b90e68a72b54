"""The suite imports the packages as installed: ``make`` installs the repository in editable mode.

``lambda`` is a Python keyword, so nothing imports ``lambda.x``: the runtime package is
``two_way_sms`` (from ``lambda/``), the constructs ``two_way_sms_cdk`` (from ``infra/``).
"""

import os

# Powertools reads these when a handler module creates its Logger, Metrics and Tracer (at import,
# as on Lambda, where the construct sets them before the module loads): set them before any test
# module imports a handler.
for _name, _value in {
    "POWERTOOLS_SERVICE_NAME": "two-way-sms",
    "POWERTOOLS_METRICS_NAMESPACE": "TwoWaySmsTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ.setdefault(_name, _value)
