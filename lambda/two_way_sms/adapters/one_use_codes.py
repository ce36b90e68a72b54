"""One-use codes for verification conversations, derived with an HMAC key in KMS.

A conversation's code is HMAC-SHA-256 of its id under a KMS HMAC key, read as decimal
digits. The same conversation always gets the same code, so a send retried after a crash
texts the code its conversation expects; nobody without ``kms:GenerateMac`` on the key
can work one out, and the key never leaves KMS. Nothing of the code is stored, not even a
hash: the inbound function checks an answer by deriving the code again (so it needs
``kms:GenerateMac`` too). The conversation closes on the first valid answer, which makes
the code one-use, and after a few wrong ones (``conversations.engine.MAX_WRONG_CODES``).
"""

from __future__ import annotations

from typing import Any

MAC_ALGORITHM = "HMAC_SHA_256"
DEFAULT_DIGITS = 6


class OneUseCodes:
    def __init__(self, kms_client: Any, key_id: str, *, digits: int = DEFAULT_DIGITS) -> None:
        if not 4 <= digits <= 10:
            raise ValueError(f"digits {digits} must be 4-10")
        self._kms = kms_client
        self._key_id = key_id
        self._digits = digits

    def code_for(self, conversation_id: str) -> str:
        mac = self._kms.generate_mac(
            KeyId=self._key_id,
            MacAlgorithm=MAC_ALGORITHM,
            Message=f"two-way-sms/conversation/{conversation_id}".encode(),
        )["Mac"]
        # 64 bits modulo 10^digits: a bias below one in 10^8, far under a guess's odds.
        return str(int.from_bytes(mac[:8], "big") % 10**self._digits).zfill(self._digits)
