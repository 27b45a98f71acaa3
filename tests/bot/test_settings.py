import re

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings, SlackMode, normalize_database_url
from bot.storage import Database
from tests.support.databases import TEST_DATABASE_URL


def test_defaults_read_the_documented_names(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("WEDGEHR_ENV", "staging")
    monkeypatch.setenv("PORT", "8080")
    settings = Settings()
    assert settings.slack_mode is SlackMode.http
    assert settings.wedgehr_base_url == "https://api.wedgebeta.com/connect/v2"
    assert settings.port == 8080
    assert settings.missing_slack_settings() == []
    assert "xoxb-1" not in repr(settings)


def test_a_setting_set_but_empty_takes_its_default(monkeypatch, tmp_path):
    # As a .env template or a platform's settings form leaves them: the start stopped on each.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PORT=\nWEDGEHR_ENV=\n")
    monkeypatch.setenv("WEDGEHR_POLL_SECONDS", "")
    settings = Settings()
    assert (settings.port, settings.wedgehr_env, settings.wedgehr_poll_seconds) == (3000, "production", 60)


def test_an_empty_secret_in_the_environment_still_turns_off_the_one_in_dot_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SPARKHIRE_API_KEY=key-from-the-file\n")
    monkeypatch.setenv("SPARKHIRE_API_KEY", "")
    settings = Settings()
    assert not settings.sparkhire_api_key and settings.env_vendor_keys == []


def test_mode_follows_credentials(monkeypatch):
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "x")
    assert Settings().slack_mode is SlackMode.oauth
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert Settings().slack_mode is SlackMode.socket


def test_vendor_keys_team_ids_name_the_workspaces_separated_by_commas_or_spaces(monkeypatch):
    assert Settings().vendor_keys_serve("T0001")  # unset: every workspace, as before the setting
    monkeypatch.setenv("VENDOR_KEYS_TEAM_IDS", " T0001, T0003  T0004 ")
    settings = Settings()
    assert [settings.vendor_keys_serve(t) for t in ("T0001", "T0003", "T0004", "T0002", "")] == [1, 1, 1, 0, 0]
    # An organisation's id would match none of its workspaces, and cut them all off at the next start.
    monkeypatch.setenv("VENDOR_KEYS_TEAM_IDS", "T0001,E0001")
    with pytest.raises(ValueError, match=r"E0001 is not a Slack workspace id.*not the organisation"):
        Settings()


def test_wedgehr_api_url_overrides_env(monkeypatch):
    monkeypatch.setenv("WEDGEHR_API_URL", "http://127.0.0.1:9/connect/v2/")
    assert Settings().wedgehr_base_url == "http://127.0.0.1:9/connect/v2"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        # Heroku and most hosts add libpq's sslmode; asyncpg names it ssl.
        ("postgres://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        (
            "postgresql://u@h/db?application_name=bot&sslmode=prefer",
            "postgresql+asyncpg://u@h/db?application_name=bot&ssl=prefer",
        ),
    ],
)
def test_database_url_forms(given, expected):
    assert normalize_database_url(given) == expected


def test_database_url_rejects_unknown_scheme():
    with pytest.raises(ValueError, match="DATABASE_URL"):
        normalize_database_url("mysql://x")


def test_dev_secret_key_is_generated_private(tmp_path):
    key = Settings().fernet_key(workdir=tmp_path)
    path = tmp_path / ".interview-bot-secret-key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings().fernet_key(workdir=tmp_path) == key


@pytest.mark.parametrize("name", ["DATABASE_TIMEOUT_SECONDS", "SLACK_TIMEOUT_SECONDS"])
def test_timeouts_are_read_from_their_documented_names_and_must_be_positive(monkeypatch, name):
    field = name.lower()
    assert getattr(Settings(), field) == 15
    monkeypatch.setenv(name, "2.5")
    assert getattr(Settings(), field) == 2.5
    monkeypatch.setenv(name, "0")
    with pytest.raises(ValueError, match=field):
        Settings()


def test_event_retention_is_read_from_its_documented_name_and_keeps_three_days_at_least(monkeypatch):
    assert Settings().event_retention_days == 30
    monkeypatch.setenv("EVENT_RETENTION_DAYS", "7")
    assert Settings().event_retention_days == 7
    monkeypatch.setenv("EVENT_RETENTION_DAYS", "2")
    with pytest.raises(ValueError, match="event_retention_days"):
        Settings()


@pytest.mark.parametrize(
    "name",
    [
        "SLACK_TIMEOUT_SECONDS",
        "DATABASE_TIMEOUT_SECONDS",
        "HTTP_BODY_TIMEOUT_SECONDS",
        "HTTP_IDLE_TIMEOUT_SECONDS",
        "WEDGEHR_POLL_SECONDS",
        "EVENT_RETENTION_DAYS",
    ],
)
@pytest.mark.parametrize("value", ["inf", "Infinity", "nan"])
def test_a_duration_must_be_a_finite_number(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"(?s){name.lower()}.*finite number"):
        Settings()


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("https://bot.example.com/slack/events", "https://bot.example.com"),
        ("https://bot.example.com/slack/events/", "https://bot.example.com"),
        ("https://example.com/bot/slack/install", "https://example.com/bot"),
        ("https://bot.example.com/slack/oauth_redirect", "https://bot.example.com"),
        # A webhook address copied from Spark Hire's settings: the next would be …/webhooks/sparkhire/x/webhooks/…
        ("https://bot.example.com/webhooks/sparkhire/0f3c9a", "https://bot.example.com"),
        ("https://example.com/bot/webhooks/sparkhire", "https://example.com/bot"),
    ],
)
def test_a_public_url_of_one_of_the_bots_routes_is_refused_naming_its_base(monkeypatch, given, base):
    # Spark Hire's webhook was registered under it (.../slack/events/webhooks/...): every event got 404.
    monkeypatch.setenv("PUBLIC_URL", given)
    with pytest.raises(ValueError, match=f"not its base: .* as in {re.escape(base)} "):
        Settings()


def test_a_public_url_with_a_path_of_its_own_is_kept(monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://example.com/interview-bot/")
    assert Settings().public_url == "https://example.com/interview-bot"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_postgres_url_with_sslmode_as_hosts_give_it_connects():
    url = TEST_DATABASE_URL + ("&" if "?" in TEST_DATABASE_URL else "?") + "sslmode=prefer"
    settings = Settings(database_url=url, bot_secret_key=Fernet.generate_key().decode())
    db = Database.for_settings(settings)
    try:
        assert await db.migrate() >= 1
    finally:
        await db.aclose()


def test_an_api_url_set_empty_is_its_default_and_one_without_a_scheme_is_refused_without_its_password(monkeypatch):
    # Set but empty, as a .env template leaves them: SLACK_API_URL became "/" and SPARKHIRE_API_URL "".
    for name in ("SLACK_API_URL", "WEDGEHR_API_URL", "SPARKHIRE_API_URL"):
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.wedgehr_base_url == "https://api.wedgehr.com/connect/v2"
    assert settings.sparkhire_base_url == "https://api.sparkhire.com/v1.0"
    monkeypatch.setenv("WEDGEHR_API_URL", "bot:hunter2@wedge.example/connect/v2")
    with pytest.raises(ValueError, match=r"'\*\*\*@wedge.example/connect/v2' is not an absolute URL") as refused:
        Settings()
    # What `python -m bot` prints of it (pydantic's own text quotes the input whole).
    assert "hunter2" not in refused.value.errors()[0]["msg"]


def test_a_name_close_to_a_setting_in_the_environment_or_dot_env_is_said_to_be_ignored(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("WEDGEHR_TOKN=abc\nSPARKHIRE_API_KEY=k\n", encoding="utf-8")
    monkeypatch.setenv("SLACK_SIGNING_SECRT", "s")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example")  # another tool's: not close to any
    monkeypatch.setenv("HTTP_PROXYY", "x")  # not one of the bot's prefixes
    said = Settings().mistyped_names()
    assert said == [
        "SLACK_SIGNING_SECRT is not a setting, so it is ignored: did you mean SLACK_SIGNING_SECRET?",
        "WEDGEHR_TOKN is not a setting, so it is ignored: did you mean WEDGEHR_TOKEN?",
    ]
    assert "abc" not in str(said) and "s" not in said
