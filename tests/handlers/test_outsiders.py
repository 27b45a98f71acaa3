"""Slack Connect: a member of another workspace clicks the bot's buttons in a shared channel.

Slack sends the host workspace (where the app is installed) as the team and the clicker's own
workspace as ``user.team_id``; the bot's buttons act on the host's vendor accounts.
"""

import asyncio
import logging
import time

import sqlalchemy as sa

from blocks.ids import Action, Block, Callback
from bot.storage import schema
from tests.handlers.test_connect import open_connect, state
from tests.support.blockkit import assert_valid_blocks, assert_valid_view
from tests.support.harness import OAUTH, install_workspace, running_bot

OUTSIDER_TEAM = "T0002"


def completed_interview(bot) -> str:
    return next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")["uuid"]


async def audit_rows(bot) -> list:
    async with bot.services.db.engine.connect() as conn:
        return (await conn.execute(sa.select(schema.audit_log))).all()


def refusals(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "handlers.common" and r.getMessage().startswith("Refused")]


async def test_a_guest_opening_a_cards_link_is_not_told_off(bot):
    # Slack opened the recording for the guest already: a refusal would only contradict it.
    for action in (Action.WATCH, Action.OPEN_RESULT):
        url = bot.slack.response_url(action)
        response = await bot.sender.block_action(action, user="UB1", user_team=OUTSIDER_TEAM, response_url=url)
        assert response.status_code == 200
    await asyncio.sleep(0.3)
    assert not bot.slack.responses.get(Action.WATCH) and not bot.slack.responses.get(Action.OPEN_RESULT)
    assert not bot.slack.ephemerals("UB1")


async def test_a_user_of_another_workspace_cannot_create_a_share_link_and_is_told_why(bot, caplog):
    caplog.set_level(logging.INFO)
    uuid = completed_interview(bot)
    url = bot.slack.response_url("outsider")
    response = await bot.sender.block_action(
        Action.SHARE_INTERVIEW, value=uuid, user="UB1", user_team=OUTSIDER_TEAM, response_url=url
    )
    assert response.status_code == 200 and response.text == ""
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("outsider"))
    assert_valid_blocks(told["blocks"])
    assert told["response_type"] == "ephemeral"
    assert told["text"].startswith("Interview Bot's buttons here act on the hiring accounts of the acme workspace")
    assert "only members of that workspace can use them" in told["text"]
    await asyncio.sleep(0.3)  # anything started for the click would have reached the sandbox by now
    assert not bot.sparkhire.requests and not bot.sparkhire.share_links
    assert await audit_rows(bot) == []
    (logged,) = refusals(caplog)
    assert logged.levelno == logging.INFO
    assert "UB1" in logged.getMessage() and OUTSIDER_TEAM in logged.getMessage()
    assert url not in caplog.text  # the response_url is a credential, in no line of any logger

    # The same click by a member of the workspace still creates the link.
    await bot.sender.block_action(Action.SHARE_INTERVIEW, value=uuid, response_url=bot.slack.response_url("member"))
    (shared,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("member"))
    assert bot.sparkhire.share_links[uuid]["url"] in shared["text"]
    assert [(row.team_id, row.user_id, row.action) for row in await audit_rows(bot)] == [
        ("T0001", "U1", "share.created")
    ]


async def test_in_oauth_mode_the_refusal_names_the_installed_workspace_and_no_vendor_is_called():
    """The review's probe: the host has a workspace Spark Hire key; the outsider clicks on its card."""
    async with running_bot(**OAUTH, env_credentials=False) as bot:
        await install_workspace(bot, at=time.time() - 60)
        await bot.services.db.connections.upsert_workspace(
            "T0001", "sparkhire", "shermer-key-123456", account_label="Shermer", connected_by="U1"
        )
        for action, value, key in (
            (Action.SHARE_INTERVIEW, completed_interview(bot), "share"),
            (Action.OPEN_FIND, "jobseeker@example.com", "find"),
        ):
            response = await bot.sender.block_action(
                action, value=value, user="UB1", user_team=OUTSIDER_TEAM, response_url=bot.slack.response_url(key)
            )
            assert response.status_code == 200
            (told,) = await bot.slack.wait_for(lambda key=key: bot.slack.responses.get(key))
            assert "hiring accounts of the Acme workspace" in told["text"]  # auth.test's workspace name
        await asyncio.sleep(0.3)
        assert not bot.sparkhire.requests and not bot.sparkhire.share_links
        assert await audit_rows(bot) == []


async def test_an_outsiders_type_ahead_gets_no_options_and_reads_nothing(bot):
    modal = {"id": "V1", "type": "modal", "callback_id": Callback.INVITE_SPARKHIRE, "app_installed_team_id": "T0001"}
    refused = await bot.sender.suggestion(Action.SPARKHIRE_JOB, "bar", view=modal, user="UB1", user_team=OUTSIDER_TEAM)
    assert refused.status_code == 200 and refused.json() == {"options": []}
    assert not bot.sparkhire.requests
    member = await bot.sender.suggestion(Action.SPARKHIRE_JOB, "bar", view=modal)
    assert member.json()["options"]  # the same request from a member still lists the jobs


async def test_an_outsiders_form_submission_is_answered_with_the_reason_and_saves_nothing():
    async with running_bot(env_credentials=False) as bot:
        view = {**await open_connect(bot, "U2"), "app_installed_team_id": "T0001"}
        before = len(bot.sparkhire.requests)
        # As Slack sends it from a shared channel: team is the submitter's, the view says where it was opened.
        response = await bot.sender.view_submission(
            view,
            state(**{Block.SPARKHIRE_USER_KEY: "bkey-own-123456"}),
            user="UB1",
            user_team=OUTSIDER_TEAM,
            team={"id": OUTSIDER_TEAM, "domain": "beta"},
        )
        assert response.status_code == 200
        answer = response.json()
        assert answer["response_action"] == "update"
        assert_valid_view(answer["view"])
        shown = str(answer["view"]["blocks"])
        assert "only members of that workspace can use them" in shown
        assert "the workspace that installed Interview Bot" in shown  # not "beta": that is the submitter's
        await asyncio.sleep(0.3)
        assert len(bot.sparkhire.requests) == before  # the key was not even checked
        assert await bot.services.db.connections.list_for_team("T0001") == []
        assert await bot.services.db.connections.list_for_team(OUTSIDER_TEAM) == []


async def test_a_colleague_from_another_workspace_of_the_same_enterprise_is_let_through():
    """Enterprise Grid: the payload names the org; the user's team_id is their own workspace of it."""
    grid = {"enterprise": {"id": "E0001", "name": "Acme Group"}}
    async with running_bot(env_credentials=False) as bot:
        bot.slack.add_user("UG1", name="Gil Grid", email="gil@acme-eu.example", team_id="T0003", enterprise_id="E0001")
        await bot.services.db.connections.upsert_workspace(
            "T0001", "sparkhire", "shermer-key-123456", account_label="Shermer", connected_by="U1"
        )
        uuid = completed_interview(bot)
        await bot.sender.block_action(
            Action.SHARE_INTERVIEW,
            value=uuid,
            user="UG1",
            user_team="T0003",
            response_url=bot.slack.response_url("s"),
            **grid,
        )
        (shared,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
        assert bot.sparkhire.share_links[uuid]["url"] in shared["text"]

        # Their form is answered with T0001's token, so what it saves belongs to T0001 too.
        view = {**await open_connect(bot, "UG1"), "app_installed_team_id": "T0001"}
        response = await bot.sender.view_submission(
            view,
            state(**{Block.SPARKHIRE_USER_KEY: "colleague-key-123456"}),
            user="UG1",
            user_team="T0003",
            team={"id": "T0003", "domain": "acme-eu"},
            **grid,
        )
        assert response.json() == {"response_action": "clear"}
        await bot.slack.wait_for(lambda: bot.slack.ephemerals("UG1") or bot.slack.posted("UG1"))
        connection = await bot.services.db.connections.resolve("T0001", "sparkhire", "UG1")
        assert connection is not None and connection.credential.get_secret_value() == "colleague-key-123456"
        assert await bot.services.db.connections.list_for_team("T0003") == []


async def test_a_user_of_another_enterprise_is_refused_even_when_the_payload_names_one(bot):
    """A user.team_id that is another org's id is outside whatever org the payload names."""
    await bot.sender.block_action(
        Action.SHARE_INTERVIEW,
        value=completed_interview(bot),
        user="UX1",
        user_team="E0009",
        response_url=bot.slack.response_url("x"),
        enterprise={"id": "E0001"},
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("x"))
    assert "only members of that workspace" in told["text"]
    assert not bot.sparkhire.share_links


async def test_on_enterprise_grid_a_guest_of_another_company_is_refused_after_asking_slack():
    """The payload names the host's org and the guest has a workspace id: only Slack can tell them apart."""
    grid = {"enterprise": {"id": "E0001", "name": "Acme Group"}}
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001", "sparkhire", "shermer-key-123456", account_label="Shermer", connected_by="U1"
        )
        bot.slack.add_user("UO1", name="Olu Other", email="olu@other.example", team_id="T0999", enterprise_id="E0777")
        bot.slack.add_user("US1", name="Sam Stranger", email="sam@small.example", team_id="T0888", is_stranger=True)
        uuid = completed_interview(bot)
        for user, team in (("UO1", "T0999"), ("US1", "T0888"), ("UO1", "T0999")):
            key = f"{user}-{len(bot.slack.calls)}"
            await bot.sender.block_action(
                Action.SHARE_INTERVIEW,
                value=uuid,
                user=user,
                user_team=team,
                response_url=bot.slack.response_url(key),
                **grid,
            )
            (told,) = await bot.slack.wait_for(lambda key=key: bot.slack.responses.get(key))
            assert "only members of that workspace can use them" in told["text"]
        assert not bot.sparkhire.share_links
        asked = [c.args["user"] for c in bot.slack.calls_to("users.info")]
        assert asked.count("UO1") == 1 and asked.count("US1") == 1  # asked once per user, then remembered
