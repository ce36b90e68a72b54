"""The two-way SMS domain: what to do with a text a customer sent.

Pure Python (no boto3): keyword rules, opt-out policy, message encoding and parts,
phone-number handling. The AWS calls live in ``two_way_sms.adapters``; the handlers in
``lambda/<function>/app.py`` glue the two together. The CDK app validates its config
with this same package at synth time, so there is one source of truth for the rules.
"""
