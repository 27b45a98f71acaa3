"""Secrets at rest (Fernet) and constant-time comparison of credentials."""

from __future__ import annotations

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
