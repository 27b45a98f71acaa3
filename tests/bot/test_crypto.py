import pytest
from cryptography.fernet import Fernet

from bot.crypto import SecretBox, SecretKeyMismatchError, constant_time_equals


def test_round_trip_and_key_change_is_explained():
    box = SecretBox(Fernet.generate_key())
    token = box.encrypt("spark-key")
    assert "spark-key" not in token and box.decrypt(token) == "spark-key"
    with pytest.raises(SecretKeyMismatchError, match="BOT_SECRET_KEY"):
        SecretBox(Fernet.generate_key()).decrypt(token)


def test_bad_key_is_explained():
    with pytest.raises(ValueError, match="BOT_SECRET_KEY"):
        SecretBox(b"short")


def test_constant_time_equals():
    assert constant_time_equals("a:b", b"a:b")
    assert not constant_time_equals("a:b", "a:c")
