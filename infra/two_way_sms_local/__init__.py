"""AWS on this machine: what the tests, the benchmarks and the sandbox run the functions against.

moto emulates DynamoDB, SQS, EventBridge, SSM and KMS; moto lacks End User Messaging SMS, so
``sms_emulator.SmsEmulator`` stands in for it, validating every call against botocore's
model of the service. ``faults.FaultInjector`` makes calls fail the way production does
(after botocore's retries), and ``emulation`` creates the tables, the stream and the
environments the constructs would give the functions.

Needs the ``local`` extra (``pip install "two-way-sms[local]"``): moto is not a dependency of
the deployed library.
"""
