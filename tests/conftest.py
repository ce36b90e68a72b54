"""The suite imports the packages as installed: ``make`` installs the repository in editable mode.

``lambda`` is a Python keyword, so nothing imports ``lambda.x``: the runtime package is
``two_way_sms`` (from ``lambda/``), the constructs ``two_way_sms_cdk`` (from ``infra/``).
"""
