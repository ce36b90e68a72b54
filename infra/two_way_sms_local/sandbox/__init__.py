"""The sandbox: the stack's real handlers on emulated AWS, a page and a terminal to drive them (issue 14).

``Sandbox`` (``engine``) implements ``contract.SandboxApi``; ``chat`` is the terminal mode,
``server`` the page's HTTP server; ``python -m two_way_sms_local.sandbox chat|serve`` runs them.
"""
