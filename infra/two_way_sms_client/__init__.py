"""The application side: a client that puts send requests and campaigns on the stack's queues, and the
``two-way-sms`` command. Never part of a function's asset."""
