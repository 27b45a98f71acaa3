"""manifest.yml validates against Slack's schema and agrees with the code."""

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from blocks.ids import Callback
from bot.app import BOT_SCOPES, SLACK_EVENTS_PATH, SLACK_OAUTH_REDIRECT_PATH
from handlers.command import COMMAND

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest-schema" / "manifest.schema.1.0.0.json"
# Real Slack bot scope names this app could plausibly need (the schema does not check spelling).
KNOWN_SCOPES = {
    "commands",
    "chat:write",
    "chat:write.public",
    "chat:write.customize",
    "channels:join",
    "channels:read",
    "channels:history",
    "groups:read",
    "groups:history",
    "im:write",
    "im:read",
    "im:history",
    "mpim:read",
    "users:read",
    "users:read.email",
    "team:read",
    "links:read",
    "links:write",
    "reactions:write",
}
KNOWN_BOT_EVENTS = {
    "app_home_opened",
    "app_mention",
    "message.im",
    "app_uninstalled",
    "tokens_revoked",
    "member_joined_channel",
    "channel_archive",
    "channel_shared",
}


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@pytest.mark.skipif(not SCHEMA.exists(), reason="../shared/slack/manifest-schema is not beside the repository")
def test_manifest_validates_against_slacks_schema(manifest):
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_schema_catches_a_typo(manifest):
    if not SCHEMA.exists():
        pytest.skip("schema not available")
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "setings": {}}
    assert list(Draft7Validator(schema).iter_errors(broken))


def test_scopes_are_real_and_match_the_oauth_install(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert set(scopes) <= KNOWN_SCOPES
    assert scopes == BOT_SCOPES
    assert "commands" in scopes  # required by slash commands and shortcuts


def test_commands_shortcuts_and_urls_agree_with_the_code(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    callback_ids = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert callback_ids == {Callback.SHORTCUT_INVITE, Callback.SHORTCUT_INVITE_FROM_MESSAGE}
    settings = manifest["settings"]
    for url in (
        command["url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        settings["event_subscriptions"]["request_url"],
    ):
        assert url.endswith(SLACK_EVENTS_PATH)
    assert manifest["oauth_config"]["redirect_urls"][0].endswith(SLACK_OAUTH_REDIRECT_PATH)
    assert set(settings["event_subscriptions"]["bot_events"]) <= KNOWN_BOT_EVENTS
    # Every event the bot listens for, so Slack sends it.
    listened_for = {"app_home_opened", "app_uninstalled", "tokens_revoked", "channel_shared"}
    assert set(settings["event_subscriptions"]["bot_events"]) == listened_for
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_procfile_runs_the_bot():
    assert (ROOT / "Procfile").read_text().strip() == "web: python -m bot"
