"""The runtime package every function runs: what to do with a text, and the AWS calls that do it.

Dependencies point one way: ``handlers`` -> ``services`` -> the domain; ``adapters`` -> the domain.

- the domain (the modules at this level, ``outbound``, ``conversations``): keyword rules,
  opt-out policy, encoding and parts, phone numbers, quiet hours, pacing, flows. Pure Python,
  no boto3; the constructs validate their config with this same code at synth.
- ``services``: the use cases (answer an inbound message, send a request, run a campaign page,
  record delivery events), their collaborators injected as small protocols (ports).
- ``adapters``: boto3 behind those ports (DynamoDB, End User Messaging, SQS, EventBridge, SSM, KMS).
- ``handlers``: one module per function, wiring only: settings -> adapters -> service.
- ``settings``: each function's environment as one typed contract, read by its handler and
  checked by the construct that sets it.
"""
