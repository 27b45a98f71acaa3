"""Secrets at rest (Fernet) and constant-time comparison of credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMismatchError(RuntimeError):
    """A stored secret cannot be decrypted with the current key."""


class SecretBox:
    """Encrypts and decrypts short secrets (vendor keys, webhook passwords) with Fernet.

    Args:
        key: A urlsafe base64 Fernet key (``BOT_SECRET_KEY``).
    """

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "BOT_SECRET_KEY is not a valid Fernet key; generate one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
            ) from exc

        # A key of its own for tags (one purpose per key), derived from BOT_SECRET_KEY.
        self._tag_key = hmac.new(base64.urlsafe_b64decode(key), b"interview-bot message tags", hashlib.sha256).digest()

    def tag(self, message: str) -> str:
        """A short keyed digest of ``message``: only a holder of ``BOT_SECRET_KEY`` can make it."""
        return hmac.new(self._tag_key, message.encode(), hashlib.sha256).hexdigest()[:32]

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyMismatchError(
                "A stored credential could not be decrypted: BOT_SECRET_KEY changed since it "
                "was saved. Restore the old key or reconnect the account with /interview connect."
            ) from None


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare credentials without leaking where they differ through timing."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)
