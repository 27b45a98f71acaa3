"""Token rotation (OAuth): with it turned on for the Slack app, bot tokens expire every 12 hours.

The outbox worker posted with the stored token as it was: channel cards stopped half a day after
each install, Slack's ``token_expired`` retried a dozen times and dropped.
"""

import asyncio
import time

from slack_sdk.oauth.installation_store import Installation

from tests.bot.notify.test_pipeline import cards, completed_interview, subscribe
from tests.support.harness import OAUTH, running_bot


async def install_with_rotation(bot) -> Installation:
    """The workspace installed with token rotation on: its bot token expires in 12 hours."""
    token, refresh = bot.slack.rotating_token(expires_in=43200)
    installation = Installation(
        app_id="A1",
        team_id="T0001",
        user_id="U1",
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_refresh_token=refresh,
        bot_token_expires_in=43200,
        installed_at=time.time() - 60,
    )
    await store_of(bot).async_save(installation)
    return installation


def store_of(bot):
    return bot.services.db.installation_store(OAUTH["slack_client_id"])


async def token_expires(bot, installation: Installation, *, at: float, stored_as: float | None = None) -> None:
    """Slack lets the bot token run out at ``at``; the installation says it does at ``stored_as`` (else ``at``)."""
    bot.slack.expiring_tokens[installation.bot_token] = at
    installation.bot_token_expires_at = int(stored_as if stored_as is not None else at)
    await store_of(bot).async_save(installation)  # the same installation (installed_at): updated


async def stored_tokens(bot) -> set[str | None]:
    """The bot token in each of the installation's rows (Bolt reads one table, the worker the other)."""
    store = store_of(bot)
    bot_row = await store.async_find_bot(enterprise_id=None, team_id="T0001")
    installation = await store.async_find_installation(enterprise_id=None, team_id="T0001")
    return {bot_row.bot_token, installation.bot_token}


async def test_a_card_is_posted_with_a_fresh_token_once_the_stored_one_has_expired():
    async with running_bot(**OAUTH) as bot:
        installation = await install_with_rotation(bot)
        await subscribe(bot)
        expired = installation.bot_token
        await token_expires(bot, installation, at=time.time() - 3600)  # half a day later
        since = len(bot.slack.calls)

        interview = completed_interview(bot)
        await bot.sparkhire.emit("InterviewCompleted", interview)
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        assert interview["assigned_to"]["name"] in str(card.blocks)

        (post,) = bot.slack.calls_to("chat.postMessage")
        assert post.token != expired
        assert not [call for call in bot.slack.calls[since:] if call.token == expired]  # not even tried
        assert await stored_tokens(bot) == {post.token}  # kept for the next posts and for Bolt
        assert len(bot.slack.calls_to("oauth.v2.access")) == 1


async def test_a_token_slack_says_has_expired_before_its_stored_expiry_is_refreshed_and_the_card_posted():
    # The server's clock is behind Slack's: by its own count the token still has hours to go.
    async with running_bot(**OAUTH) as bot:
        installation = await install_with_rotation(bot)
        await subscribe(bot)
        expired = installation.bot_token
        await token_expires(bot, installation, at=time.time() - 1, stored_as=time.time() + 6 * 3600)

        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        await bot.slack.wait_for(lambda: cards(bot), timeout=10)

        refused, posted = bot.slack.calls_to("chat.postMessage")
        assert refused.token == expired and posted.token != expired
        assert await stored_tokens(bot) == {posted.token}
        assert await bot.services.db.outbox.counts() == {"sent": 1}
        (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not subscription.paused


async def test_posts_to_several_channels_at_once_refresh_the_token_once(database_url):
    # Slack revokes a refresh token once used: a second refresh with it fails.
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        bot.slack.add_channel("C2", name="engineering")
        bot.slack.add_channel("C3", name="sales")
        installation = await install_with_rotation(bot)
        for channel in ("C1", "C2", "C3"):
            await subscribe(bot, channel=channel)
        await token_expires(bot, installation, at=time.time() - 60)

        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        await bot.slack.wait_for(lambda: all(cards(bot, channel) for channel in ("C1", "C2", "C3")), timeout=10)

        assert len(bot.slack.calls_to("oauth.v2.access")) == 1
        assert len({call.token for call in bot.slack.calls_to("chat.postMessage")}) == 1


async def test_commands_are_answered_once_the_token_has_expired():
    # Bolt refreshes the token of a request's workspace itself; it must ask SLACK_API_URL, not slack.com.
    async with running_bot(**OAUTH) as bot:
        installation = await install_with_rotation(bot)
        expired = installation.bot_token
        await token_expires(bot, installation, at=time.time() - 3600)

        response = await bot.sender.command("invite")
        assert response.status_code == 200
        (opened,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
        assert opened.token != expired
        assert await stored_tokens(bot) == {opened.token}


async def test_a_command_and_a_card_at_once_after_expiry_refresh_the_token_once(database_url):
    # Bolt's own rotator took no lock: a click and a post near expiry each used the refresh token,
    # and the one that came second got invalid_refresh_token (its request dropped).
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        installation = await install_with_rotation(bot)
        await subscribe(bot)
        await token_expires(bot, installation, at=time.time() - 60)

        await asyncio.gather(
            bot.sparkhire.emit("InterviewCompleted", completed_interview(bot)),
            *(bot.sender.command("invite") for _ in range(3)),
        )
        await bot.slack.wait_for(lambda: cards(bot) and len(bot.slack.calls_to("views.open")) == 3, timeout=10)
        assert len(bot.slack.calls_to("oauth.v2.access")) == 1
