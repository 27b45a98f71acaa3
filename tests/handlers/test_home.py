"""App Home: connection status, the user's last invites, subscriptions, and buttons that open the flows."""

import asyncio
import time

import httpx
import pytest

from blocks.ids import Action, Block, Callback
from tests.handlers.test_connect import connect_form
from tests.handlers.test_invite import wedgehr_modal, wedgehr_values
from tests.support.blockkit import assert_valid_view
from tests.support.harness import OAUTH, running_bot


async def open_home(bot, user="U1"):
    before = bot.slack.published_home.get(user)
    response = await bot.sender.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    assert response.status_code == 200
    home = await bot.slack.wait_for(
        lambda: bot.slack.published_home.get(user) is not before and bot.slack.published_home.get(user)
    )
    assert_valid_view(home)
    return str(home["blocks"])


async def test_home_shows_connections_invites_and_subscriptions():
    async with running_bot() as bot:
        text = await open_home(bot)
        assert "WedgeHR" in text and "Spark Hire" in text
        assert "Nothing yet" in text and "None. Run `/interview subscribe`" in text
        assert Action.OPEN_INVITE in text and Action.OPEN_CONNECT in text

        modal = await wedgehr_modal(bot)
        interview = next(iter(bot.wedgehr.interviews.values()))
        await bot.sender.view_submission(modal, wedgehr_values(interview))
        await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        await bot.sender.command("subscribe sparkhire rated", response_url=bot.slack.response_url("sub"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("sub"), timeout=10)

        text = await open_home(bot)
        assert "ann@example.com" in text
        assert "rated" in text and "C1" in text


async def test_a_member_who_is_not_an_admin_sees_only_their_own_subscriptions_filters():
    async with running_bot() as bot:
        # The admin (U1) subscribes a private channel to a confidential search.
        bot.slack.add_channel("G9", name="cfo-search", is_private=True, is_member=True)
        bot.sparkhire.add_job("Secret CFO search")
        await bot.sender.command(
            'subscribe sparkhire job:"Secret CFO search" exclude:heir@rival.example',
            channel="G9",
            response_url=bot.slack.response_url("admin"),
        )
        await bot.slack.wait_for(lambda: bot.slack.responses.get("admin"), timeout=10)
        await bot.sender.command("subscribe wedgehr", user="U2", response_url=bot.slack.response_url("member"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("member"), timeout=10)

        member_home = await open_home(bot, user="U2")
        assert "Secret CFO search" not in member_home and "heir@rival.example" not in member_home
        assert "<#C1>" in member_home and "1 more made by others" in member_home
        # When Slack cannot say who is an admin, the Home still opens, showing the member's own.
        bot.slack.fail("users.info", error="internal_error", times=5)
        unknown = await open_home(bot, user="U1")
        assert "Secret CFO search" in unknown and "1 more made by others" in unknown and "<#C1>" not in unknown
        bot.slack.failures.clear()
        admin_home = await open_home(bot, user="U1")
        assert "Secret CFO search" in admin_home and "<#C1>" in admin_home and "more made by others" not in admin_home


async def test_the_event_is_answered_in_time_while_slack_is_slow_to_publish_the_home():
    async with running_bot() as bot:
        bot.slack.before_answering["views.publish"] = lambda: asyncio.sleep(4)
        began = time.monotonic()
        response = await bot.sender.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
        assert response.status_code == 200
        assert time.monotonic() - began < 2.5  # later, Slack would send the event again
        home = await bot.slack.wait_for(lambda: bot.slack.published_home.get("U1"), timeout=8)
        assert_valid_view(home)
        assert len(bot.slack.calls_to("views.publish")) == 1


async def test_home_buttons_and_global_shortcut_open_the_invite_modal():
    async with running_bot() as bot:
        await open_home(bot)
        await bot.sender.block_action(Action.OPEN_INVITE)
        await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
        assert bot.slack.calls_to("views.open")[-1].args["view"]["callback_id"] == Callback.INVITE_VENDOR

        await bot.sender.shortcut("invite_candidate")
        await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) == 2)
        assert bot.slack.calls_to("views.open")[-1].args["view"]["callback_id"] == Callback.INVITE_VENDOR


async def test_a_key_saved_under_another_bot_secret_key_still_shows_the_home_and_says_to_reconnect(tmp_path):
    # Two processes once ran with keys of their own (no BOT_SECRET_KEY): this one cannot read the
    # other's credential. The Home tab and /interview connect, the way to replace it, must still open.
    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        await bot.services.db.connections.upsert_user("T0001", "U1", "sparkhire", "k" * 20, account_label="Dee's key")
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        text = await open_home(bot)
        assert "Dee's key (saved under another BOT_SECRET_KEY: connect it again)" in text
        await bot.sender.command("connect")
        form = await connect_form(bot)  # "Loading…" first, then the form in the same modal
        assert "connect it again" in str(form["blocks"])


async def install_through_oauth(bot):
    """The workspace's admin installs the app: /slack/install, Slack's consent, /slack/oauth_redirect."""
    async with httpx.AsyncClient(base_url=bot.url) as http:
        page = await http.get("/slack/install")
        state = page.headers["set-cookie"].split("slack-app-oauth-state=", 1)[1].split(";", 1)[0]
        bot.slack.oauth_codes.add("code-home")
        done = await http.get(
            "/slack/oauth_redirect",
            params={"code": "code-home", "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )
        assert done.status_code == 200


@pytest.mark.parametrize(("listed", "shown"), [("T0009", False), ("T0001", True)], ids=["left-out", "listed"])
async def test_a_workspace_vendor_keys_team_ids_leaves_out_is_not_told_the_environments_keys_are_its(listed, shown):
    # The operator's keys serve only the workspaces listed; another that installs the app must
    # connect its own accounts, and its Home and connect form must say it has none.
    async with running_bot(**OAUTH, vendor_keys_team_ids=listed) as bot:
        await install_through_oauth(bot)
        text = await open_home(bot)
        assert ("workspace: from environment" in text) is shown
        assert text.count("workspace: not connected") == (0 if shown else 2)
        await bot.sender.command("connect")
        form = await connect_form(bot)
        assert ("workspace: from environment" in str(form["blocks"])) is shown


async def test_home_names_the_environment_of_the_workspaces_wedgehr_token():
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001",
            "wedgehr",
            "company-token-123",
            account_label="WedgeHR company 7",
            connected_by="U1",
            environment="staging",
        )
        assert "WedgeHR company 7 (staging)" in await open_home(bot)


async def test_last_invites_name_the_vendors_and_list_sent_invites_not_attempts_refused_on_the_form():
    async with running_bot() as bot:
        modal = await wedgehr_modal(bot)
        interview = next(iter(bot.wedgehr.interviews.values()))
        await bot.sender.view_submission(modal, wedgehr_values(interview))
        await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        for i in range(10):  # attempts the form refused, corrected on the spot
            await bot.services.db.audit.add(
                team_id="T0001", user_id="U1", action="invite.failed", vendor="sparkhire", target=f"typo{i}@example"
            )
        text = await open_home(bot)
        assert "Invited ann@example.com (WedgeHR)" in text
        assert "Invite failed" not in text and "(wedgehr)" not in text and "(sparkhire)" not in text


async def test_the_home_names_the_account_each_subscription_reads_in_a_channel_reading_two():
    from tests.handlers.test_subscriptions import command, two_accounts_in  # it uses open_home

    async with running_bot() as bot:
        await two_accounts_in(bot)  # U1 with the workspace's key, U2 with their own, of Bo's agency
        await command(bot, "subscribe wedgehr", channel="C1")
        # As `/interview subscriptions` does.
        listing = str((await command(bot, "subscriptions"))["blocks"])
        admin = await open_home(bot, user="U1")
        for text in (listing, admin):
            assert "account: the workspace's key (from SPARKHIRE_API_KEY)" in text
            assert "account: Bo's agency, <@U2>'s own key" in text
        # One account of WedgeHR: no need to say which.
        lines = [
            line
            for b in bot.slack.published_home["U1"]["blocks"]
            for line in b.get("text", {}).get("text", "").split("\n")
        ]
        (wedgehr,) = [line for line in lines if "*WedgeHR* · completed" in line]
        assert "account" not in wedgehr
        # A member sees their own subscription only, and which account it reads.
        member = await open_home(bot, user="U2")
        assert "account: Bo's agency, <@U2>'s own key" in member and "SPARKHIRE_API_KEY)" not in member


async def test_connecting_and_disconnecting_from_the_home_shows_on_the_home_behind_the_form():
    from tests.handlers.test_connect import click_disconnect, disconnect_buttons, state

    async with running_bot() as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        assert "yours: not connected" in await open_home(bot, user="U2")
        home = {**bot.slack.published_home["U2"], "id": "VHOME", "type": "home"}
        updates = len(bot.slack.calls_to("views.update"))
        await bot.sender.block_action(Action.OPEN_CONNECT, user="U2", channel=None, view=home)
        form = await connect_form(bot, updates)

        # The form closes on the submission: the Home it was opened from is what the recruiter sees.
        before = bot.slack.published_home["U2"]
        await bot.sender.view_submission(form, state(**{Block.SPARKHIRE_USER_KEY: "acme-key-123456"}), user="U2")
        shown = await bot.slack.wait_for(
            lambda: bot.slack.published_home["U2"] is not before and bot.slack.published_home["U2"]
        )
        assert_valid_view(shown)
        assert "yours: Company User at Acme Corp" in str(shown["blocks"])

        updates = len(bot.slack.calls_to("views.update"))
        await bot.sender.block_action(Action.OPEN_CONNECT, user="U2", channel=None, view=home)
        form = await connect_form(bot, updates)
        before = bot.slack.published_home["U2"]
        await click_disconnect(bot, form, next(iter(disconnect_buttons(form).values())), user="U2")
        shown = await bot.slack.wait_for(
            lambda: bot.slack.published_home["U2"] is not before and bot.slack.published_home["U2"]
        )
        assert "yours: not connected" in str(shown["blocks"])
