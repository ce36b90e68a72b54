"""The CDK side of two-way SMS: constructs, the stack that composes them, and the config they are built from.

- ``constructs``: one construct per capability (``TwoWaySms`` composes them all), typed props,
  ``grant_*`` and ``metric_*`` methods, secure defaults;
- ``custom_resources``: the existing-number settings function (infrastructure, not business);
- ``stacks``: ``TwoWaySmsStack``, composition and outputs only;
- ``config``: the typed configuration and its JSON form's validation;
- ``lambda_code`` / ``lambda_dependencies``: the functions' code (the ``two_way_sms`` package) and
  their dependency layer (``two-way-sms-layer``), with no Docker and no network at synth.
"""
