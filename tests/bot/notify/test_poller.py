"""The WedgeHR poller's baselines: what an account already holds is not news, what comes after is.

Each test polls by hand (``poll_all``): the bot's own timer waits an hour.
"""

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from blocks.ids import Action, Block
from bot.storage import schema
from tests.bot.notify.test_pipeline import cards, outbox_when_settled, subscribe
from tests.handlers.test_connect import click_disconnect, open_connect, state
from tests.support.harness import OAUTH, WEDGEHR_TOKEN, install_workspace, running_bot

PAST = "2020-01-06T09:00:00Z"


def completed_in_the_past(bot, email):
    """An invite completed long ago (before anyone subscribed)."""
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.complete_invite(bot.wedgehr.add_invite(interview_id=interview["id"], email=email)["id"])
    invite["completedAt"] = bot.wedgehr.wedges[invite["_wedgeId"]]["completedAt"] = PAST
    return invite


def completed_now(bot, email, first_name):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email=email, first_name=first_name)
    return bot.wedgehr.complete_invite(invite["id"])


async def watched(bot):
    """A channel subscribed to WedgeHR, and the account's baseline taken."""
    await subscribe(bot, "subscribe wedgehr")
    await bot.pipeline.poller.poll_all()


async def ann_posted(bot):
    """A channel watching WedgeHR, and Ann's completion posted there: her invite and her card."""
    await watched(bot)
    ann = completed_now(bot, "ann@example.com", "Ann")
    assert await bot.pipeline.poller.poll_all() == 1
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    return ann, card


async def connect_token(bot, token):
    """An admin connects a WedgeHR token through the form; the confirmation."""
    replies = len(bot.slack.ephemerals("U1"))
    view = await open_connect(bot, "U1")
    await bot.sender.view_submission(view, state(**{Block.WEDGEHR_TOKEN: token}))
    return (await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1")[replies:]))[-1]


async def test_a_completion_between_subscribing_and_the_first_poll_is_posted_and_the_past_is_not():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        completed_in_the_past(bot, "old@example.com")
        await subscribe(bot, "subscribe wedgehr")
        await asyncio.sleep(1.1)  # WedgeHR's times are in whole seconds
        completed_now(bot, "fresh@example.com", "Fre")
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Fre" in card.text
        assert await bot.pipeline.poller.poll_all() == 0


async def test_a_wedgehr_token_of_another_company_does_not_post_that_companys_past():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)  # the baseline of the first company's account
        # The admin connects another company's token: its account holds 12 past completions.
        for n in range(12):
            completed_in_the_past(bot, f"b{n}@example.com")
        await connect_token(bot, "company-b-token-0123")
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(1.1)
        completed_now(bot, "new@example.com", "Neu")
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Neu" in card.text


async def test_subscribing_again_after_a_pause_does_not_post_what_was_completed_meanwhile():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        await bot.sender.command("unsubscribe", response_url=bot.slack.response_url("u"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("u"))
        for n in range(5):
            completed_now(bot, f"gap{n}@example.com", f"Gap{n}")
        await asyncio.sleep(1.1)
        await subscribe(bot, "subscribe wedgehr")
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.5)
        assert not cards(bot)


async def test_a_token_wedgehr_keeps_refusing_pauses_its_channels_and_a_new_token_resumes_them():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        bot.wedgehr.tokens = {"company-a-new-token-0123"}  # the token was revoked in WedgeHR
        for _ in range(2):  # one refusal may be WedgeHR's glitch: nobody is told yet
            await bot.pipeline.poller.poll_all()
        assert not bot.slack.posted("U1")
        await bot.pipeline.poller.poll_all()
        (notice,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"))
        assert "WedgeHR rejected the workspace's token" in notice.text and "Re-enable" in str(notice.blocks)
        (paused,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert paused.paused

        confirmation = await connect_token(bot, "company-a-new-token-0123")
        told = str(confirmation.blocks)
        assert "Re-enabled the WedgeHR subscription paused because WedgeHR rejected the old token" in told
        # Its polls failed, so nothing was recorded meanwhile: the next poll brings it.
        assert "Interviews completed since the last successful poll are posted with the next poll" in told
        assert "Nothing it takes" not in told
        (resumed,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not resumed.paused
        await asyncio.sleep(1.1)
        completed_now(bot, "back@example.com", "Bac")
        assert await bot.pipeline.poller.poll_all() == 1
        # What the channel sees: the re-enabled subscription posts it.
        (card,) = await bot.slack.wait_for(lambda: [c for c in cards(bot) if "Bac" in c.text], timeout=5)
        assert card.channel == "C1"


async def test_a_channel_subscribing_while_the_others_are_paused_does_not_get_what_was_missed():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        (first,) = await bot.services.db.subscriptions.list_for_team("T0001")
        await bot.services.db.subscriptions.pause(first.id, "channel not found")  # nobody polls the account now
        for n in range(5):
            completed_now(bot, f"gap{n}@example.com", f"Gap{n}")
        await asyncio.sleep(1.1)
        bot.slack.add_channel("C2", name="c2")
        await subscribe(bot, "subscribe wedgehr", channel="C2")
        assert await bot.pipeline.poller.poll_all() == 0


async def test_a_new_token_of_the_same_account_misses_nothing_completed_as_the_last_poll_began():
    from datetime import UTC, datetime

    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        began = (await bot.services.db.poll_state.load(connection.id))["polled_at"]
        # Completed in the very second the last poll began, after WedgeHR listed it: stamped that second.
        invite = completed_now(bot, "edge@example.com", "Edg")
        stamp = datetime.fromtimestamp(int(began), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        invite["completedAt"] = bot.wedgehr.wedges[invite["_wedgeId"]]["completedAt"] = stamp
        await connect_token(bot, "rotated-token-0123456")
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Edg" in card.text


async def test_a_new_wedgehr_token_in_the_environment_resumes_the_channels_paused_for_the_old_one(tmp_path):
    from cryptography.fernet import Fernet

    database = {"database_url": f"sqlite:///{tmp_path}/bot.sqlite3", "secret_key": Fernet.generate_key().decode()}
    async with running_bot(wedgehr_poll_seconds=3600, **database) as bot:
        await watched(bot)
        bot.wedgehr.tokens = {"the-rotated-token-0123"}  # WEDGEHR_TOKEN was revoked in WedgeHR
        for _ in range(3):
            await bot.pipeline.poller.poll_all()
        (paused,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert paused.paused
    # The operator sets the new token and restarts the bot.
    async with running_bot(
        wedgehr_poll_seconds=3600, env_credentials=False, wedgehr_token="the-rotated-token-0123", **database
    ) as bot:
        (resumed,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not resumed.paused


async def test_a_listing_cut_short_saves_nothing_and_posts_no_old_completion_later():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        interview = next(iter(bot.wedgehr.interviews.values()))
        for n in range(150):  # walk-ins who recorded long ago: more than one page of wedges
            bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email=f"past{n}@example.com")
        await watched(bot)
        # WedgeHR answers 404 for the second page of wedges once (a lost cursor).
        bot.wedgehr.fail_next(
            404,
            when=lambda r: r.path.endswith("/wedges") and "page[cursor]" in r.query and "filter[email]" not in r.query,
        )
        assert await bot.pipeline.poller.poll_all() == 0
        assert await bot.pipeline.poller.poll_all() == 0  # the 50 on page 2 are not news either
        await asyncio.sleep(0.3)
        assert not cards(bot)


async def test_one_invite_wedgehr_sends_unreadable_does_not_stop_the_others_being_posted(caplog):
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        await asyncio.sleep(1.1)
        completed_now(bot, "ann@example.com", "Ann")
        odd = completed_now(bot, "odd@example.com", "Odd")
        odd["email"] = None  # a record WedgeHR's own model would not send, in the invites listing
        assert await bot.pipeline.poller.poll_all() == 2
        posted = await bot.slack.wait_for(lambda: len(cards(bot)) == 2 and cards(bot), timeout=5)
        # Ann's invite is posted; Odd's completion still arrives through its wedge.
        assert sorted("Ann" in card.text for card in posted) == [False, True]
        assert sorted("Odd" in card.text for card in posted) == [False, True]
        left_out = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
        assert left_out and f"id {odd['id']}" in left_out[0] and "odd@example.com" not in left_out[0]


async def test_a_slow_wedgehr_account_does_not_hold_back_another_workspaces_notifications():
    async with running_bot(wedgehr_poll_seconds=3600, env_credentials=False, **OAUTH) as bot:
        db = bot.services.db
        bot.slack.add_channel("C2", name="hiring-two", is_member=True)
        channels = {}
        for team, channel in (("T0001", "C1"), ("T0002", "C2")):
            await install_workspace(bot, team_id=team)
            connection = await db.connections.upsert_workspace(
                team, "wedgehr", f"wedgehr-token-{team}", account_label="WedgeHR", connected_by="U1"
            )
            await db.subscriptions.add(
                team_id=team,
                channel_id=channel,
                vendor="wedgehr",
                events=["completed"],
                created_by="U1",
                connection_id=connection.id,
            )
            channels[connection.id] = (f"wedgehr-token-{team}", channel)
        await bot.pipeline.poller.poll_all()  # both accounts' baselines
        await asyncio.sleep(1.1)
        completed_now(bot, "ann@example.com", "Ann")
        # The account polled first answers its first request only after 6 s.
        (slow_token, slow_channel), (_, fast_channel) = (channels[c] for c in sorted(channels))
        bot.wedgehr.slow_next(6, when=lambda r: r.headers.get("Authorization") == f"Bearer {slow_token}")
        polling = asyncio.create_task(bot.pipeline.poller.poll_all())
        (card,) = await bot.slack.wait_for(lambda: cards(bot, fast_channel), timeout=4)
        assert "Ann" in card.text and not polling.done()
        assert await polling == 2
        await bot.slack.wait_for(lambda: cards(bot, slow_channel), timeout=5)


async def poll_states(bot) -> list[str]:
    """The connections the database holds WedgeHR poll state for."""
    async with bot.services.db.engine.connect() as conn:
        return list((await conn.execute(sa.select(schema.poll_state.c.connection_id))).scalars())


async def test_a_disconnected_account_leaves_no_poll_state_and_connected_again_posts_only_what_comes_after():
    async with running_bot(env_credentials=False, wedgehr_poll_seconds=3600) as bot:
        await connect_token(bot, "company-token-0123")
        await watched(bot)
        completed_now(bot, "first@example.com", "Fir")
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        assert await poll_states(bot) == [connection.id]

        view = await open_connect(bot, "U1")
        await click_disconnect(bot, view, connection.id)
        assert await bot.services.db.connections.list_for_team("T0001") == []
        assert await poll_states(bot) == []  # it stayed behind for ever

        for n in range(5):  # completed while nothing watched the account
            completed_now(bot, f"gap{n}@example.com", f"Gap{n}")
        await asyncio.sleep(1.1)  # WedgeHR's times are in whole seconds
        await connect_token(bot, "company-token-0123")
        await subscribe(bot, "subscribe wedgehr")  # what the paused subscription's notice says to do
        assert await bot.pipeline.poller.poll_all() == 0
        completed_now(bot, "after@example.com", "Aft")
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=5)
        await asyncio.sleep(1.5)  # past the channel's pacing: a flood would be posting by now
        assert [card.text.split()[0] for card in cards(bot)] == ["Fir", "Aft"]


async def test_a_nul_in_a_wedgehr_candidates_name_is_taken_out_of_the_card():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        completed_now(bot, "nul@example.com", "Nu\x00la")
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert card.text.startswith("Nula ")
        assert "\x00" not in str(card.blocks)


def recorded_again(bot, invite, *, minutes_later=1, same_invite=False):
    """The candidate records the interview again (stamped ``minutes_later`` than now): invited anew
    (WedgeHR adds the invite to their wedge), or their invite sent again after it was complete."""
    wedge = bot.wedgehr.wedges[invite["_wedgeId"]]
    later = (datetime.now(UTC) + timedelta(minutes=minutes_later)).strftime("%Y-%m-%dT%H:%M:%SZ")
    again = invite if same_invite else bot.wedgehr.add_invite(interview_id=invite["interviewId"], email=invite["email"])
    bot.wedgehr.complete_invite(again["id"])
    again["completedAt"] = wedge["completedAt"] = later
    return again


def replies(bot, card):
    return [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts]


async def test_a_candidate_who_records_again_gets_one_reply_in_their_thread_and_a_restart_posts_nothing(tmp_path):
    from cryptography.fernet import Fernet

    database = {"database_url": f"sqlite:///{tmp_path}/bot.sqlite3", "secret_key": Fernet.generate_key().decode()}
    async with running_bot(wedgehr_poll_seconds=3600, **database) as bot:
        ann, card = await ann_posted(bot)

        recorded_again(bot, ann)  # a new invite to the same interview, completed
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "Ann completed the interview again (a new recording)" in reply.text
        assert await bot.pipeline.poller.poll_all() == 0

        # Her invite sent again once complete: open while she records, then complete anew.
        bot.wedgehr.set_invite_status(ann["id"], "invited")
        bot.wedgehr.wedges[ann["_wedgeId"]]["completedAt"] = None
        assert await bot.pipeline.poller.poll_all() == 0
        recorded_again(bot, ann, minutes_later=2, same_invite=True)
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2, timeout=5)
        assert len(cards(bot)) == 1
        account = (bot.wedgehr.interviews, bot.wedgehr.invites, bot.wedgehr.wedges)
    async with running_bot(wedgehr_poll_seconds=3600, **database) as bot:  # the bot restarted
        bot.wedgehr.interviews, bot.wedgehr.invites, bot.wedgehr.wedges = account
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.3)
        assert not bot.slack.posted("C1")


async def test_after_an_upgrade_nothing_old_is_posted_and_a_retake_replies_in_the_card_posted_before_it():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        ann, card = await ann_posted(bot)
        await asyncio.sleep(0.3)  # its card recorded
        # What the release before this one left: the card keyed by the wedge, no completion times.
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        state = await bot.services.db.poll_state.load(connection.id)
        async with bot.services.db.engine.begin() as conn:
            await conn.execute(sa.update(schema.slack_messages).values(thread_key=f"wedgehr:wedge:{ann['_wedgeId']}"))
            await conn.execute(
                sa.update(schema.poll_state)
                .where(schema.poll_state.c.connection_id == connection.id)
                .values(state={key: value for key, value in state.items() if key != "completions"})
            )
        assert await bot.pipeline.poller.poll_all() == 0

        recorded_again(bot, ann)
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "again" in reply.text
        assert len(cards(bot)) == 1


def wedge_lookup(request):
    """The poller's look-up of an invite's wedge (the listing of every wedge names no candidate)."""
    return request.path.endswith("/wedges") and "filter[email]" in request.query


async def test_a_candidates_events_share_one_thread_whether_or_not_their_wedge_could_be_looked_up():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr completed send_failure canceled")
        await bot.pipeline.poller.poll_all()
        interview = next(iter(bot.wedgehr.interviews.values()))
        bounced = bot.wedgehr.add_invite(interview_id=interview["id"], email="Ann@Example.com", first_name="Ann")
        bot.wedgehr.set_invite_status(bounced["id"], "send_failure")
        bot.wedgehr.fail_next(503, times=4, when=wedge_lookup)  # every try of the look-up
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "invite could not be sent" in card.text

        # Invited again, she records: found through her wedge, told in the same thread.
        completed_now(bot, "ann@example.com", "Ann")
        assert await bot.pipeline.poller.poll_all() == 1
        (done,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "completed the interview" in done.text

        # A later invite of hers canceled while the look-up fails again: still her thread.
        extra = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com")
        bot.wedgehr.set_invite_status(extra["id"], "canceled")
        bot.wedgehr.fail_next(503, times=4, when=wedge_lookup)
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2, timeout=5)
        assert len(cards(bot)) == 1
        # The key outlives an uninstall (a reinstall threads on): it must not hold her address.
        async with bot.services.db.engine.begin() as conn:
            keys = (await conn.execute(sa.select(schema.slack_messages.c.thread_key))).scalars().all()
        unkeyed = hashlib.sha256(b"ann@example.com").hexdigest()[:32]  # a list of addresses must not confirm her
        assert keys and not [key for key in keys if "ann@" in key.casefold() or unkeyed in key]


async def test_a_retake_after_a_new_token_is_posted_as_one():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        ann, card = await ann_posted(bot)
        await connect_token(bot, "rotated-token-0123456")  # the baseline starts again
        recorded_again(bot, ann)
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "again" in reply.text


async def as_the_release_before_left_them(bot, invite):
    """The channel's outbox rows and cards keyed by the wedge, as releases before the candidate key
    threaded a WedgeHR candidate."""
    async with bot.services.db.engine.begin() as conn:
        for table in (schema.outbox, schema.slack_messages):
            await conn.execute(sa.update(table).values(thread_key=f"wedgehr:wedge:{invite['_wedgeId']}"))


async def test_a_post_still_waiting_under_an_older_key_at_an_upgrade_shares_one_card_with_the_next_event():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=2)  # once
        ann = completed_now(bot, "ann@example.com", "Ann")
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.postMessage"), timeout=5)
        await as_the_release_before_left_them(bot, ann)  # its card not posted yet
        recorded_again(bot, ann)
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
        assert "again" in reply.text
        assert len(cards(bot)) == 1


async def test_a_post_a_pause_stopped_under_an_older_key_is_caught_up_in_one_thread_with_what_came_since():
    from tests.bot.notify.test_paused import click, notices

    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        bot.slack.add_channel("C2", name="other", is_member=True)
        await subscribe(bot, "subscribe wedgehr", channel="C2")
        bot.slack.fail("chat.postMessage", error="no_permission", when=lambda call: call.args.get("channel") == "C1")
        ann = completed_now(bot, "ann@example.com", "Ann")
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: notices(bot), timeout=10)
        (paused,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        await bot.slack.wait_for(lambda: bot.slack.posted("C2"), timeout=5)
        await asyncio.sleep(0.3)  # C2's card recorded
        await as_the_release_before_left_them(bot, ann)
        recorded_again(bot, ann)
        assert await bot.pipeline.poller.poll_all() == 1  # C2 takes it; C1 is paused
        await click(bot, Action.SUBSCRIPTION_RESUME, paused.id, "re")
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
        assert "again" in reply.text
        assert len(cards(bot)) == 1


async def stored_state(bot):
    (connection,) = await bot.services.db.connections.list_for_team("T0001")
    return await bot.services.db.poll_state.load(connection.id)


async def test_a_poll_finds_changed_invites_wedges_in_the_listing_it_made_rather_than_asking_for_each():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr completed send_failure canceled")
        await bot.pipeline.poller.poll_all()
        interview = next(iter(bot.wedgehr.interviews.values()))
        for n in range(8):  # a bad mailing list: eight invites bounced
            bounced = bot.wedgehr.add_invite(interview_id=interview["id"], email=f"b{n}@example.com")
            bot.wedgehr.set_invite_status(bounced["id"], "send_failure")
        before = len(bot.wedgehr.requests)
        assert await bot.pipeline.poller.poll_all() == 8
        asked = bot.wedgehr.requests[before:]
        # The wedges' listing and one per watched status of invites: not one more per invite.
        assert [r for r in asked if wedge_lookup(r)] == []
        assert len(asked) == 4
        await bot.slack.wait_for(lambda: len(cards(bot)) == 8, timeout=10)


async def test_the_poll_state_forgets_a_deleted_wedge_and_invite_and_a_record_unreadable_once_is_not_news():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        past = completed_in_the_past(bot, "old@example.com")  # in the account before the baseline
        await watched(bot)
        ann = completed_now(bot, "ann@example.com", "Ann")
        assert await bot.pipeline.poller.poll_all() == 1
        recorded_again(bot, ann, same_invite=True)
        assert await bot.pipeline.poller.poll_all() == 1
        state = await stored_state(bot)
        assert str(ann["_wedgeId"]) in state["completions"] and str(ann["id"]) in state["invites"]

        # Ann's record deleted in WedgeHR: the state no longer carries it.
        del bot.wedgehr.wedges[ann["_wedgeId"]], bot.wedgehr.invites[ann["id"]]
        assert await bot.pipeline.poller.poll_all() == 0
        state = await stored_state(bot)
        assert str(ann["_wedgeId"]) not in state["completions"] and ann["_wedgeId"] not in state["wedges"]
        assert str(ann["id"]) not in state["invites"]
        assert str(past["_wedgeId"]) in state["completions"] and past["_wedgeId"] in state["wedges"]

        # The past candidate's records unreadable for one poll (a null address): left out of the
        # listings, not deleted. Readable again, they are no news.
        bot.wedgehr.wedges[past["_wedgeId"]]["candidateEmail"] = None
        past["email"] = None
        assert await bot.pipeline.poller.poll_all() == 0
        bot.wedgehr.wedges[past["_wedgeId"]]["candidateEmail"] = past["email"] = "old@example.com"
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.5)
        assert len(cards(bot)) == 1


def listing(request):
    """A poll's listing of every wedge or of one status's invites (not an invite's wedge look-up)."""
    return request.path.endswith(("/wedges", "/invites")) and "filter[email]" not in request.query


async def test_a_listing_answered_once_with_wedgehrs_nothing_matches_in_error_posts_nothing_old_again():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        past = completed_in_the_past(bot, "old@example.com")
        interview = next(iter(bot.wedgehr.interviews.values()))
        bounced = bot.wedgehr.add_invite(interview_id=interview["id"], email="gone@example.com")
        bot.wedgehr.set_invite_status(bounced["id"], "send_failure")
        await watched(bot)  # the baseline: both are the account's past
        ann = completed_now(bot, "ann@example.com", "Ann")
        assert await bot.pipeline.poller.poll_all() == 1
        recorded_again(bot, past)  # the past candidate records again: news
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: len(bot.slack.posted("C1")) == 2, timeout=5)

        # Every listing of one poll answered 404, "nothing matches" (ERRATA), in error.
        bot.wedgehr.fail_next(404, times=4, body={"message": "No results found for given filter query"}, when=listing)
        assert await bot.pipeline.poller.poll_all() == 0
        assert await bot.pipeline.poller.poll_all() == 0  # listed again as before: nothing is news
        await asyncio.sleep(0.5)
        assert len(bot.slack.posted("C1")) == 2
        assert ann["_wedgeId"] in (await stored_state(bot))["wedges"]


async def invite_posted(bot, email, first_name, status="send_failure"):
    """The candidate's invite bounced (or was canceled) and posted in a channel watching both: the
    invite and its card."""
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email=email, first_name=first_name)
    bot.wedgehr.set_invite_status(invite["id"], status)
    posted = len(cards(bot))
    assert await bot.pipeline.poller.poll_all() == 1
    card = (await bot.slack.wait_for(lambda: cards(bot)[posted:], timeout=5))[-1]
    return invite, card


async def resend_from_card(bot, invite, key):
    """The recruiter clicks Resend invite on the candidate's card: WedgeHR sets it back to invited."""
    wedge_id = str(invite["_wedgeId"])
    await bot.sender.block_action(Action.RESEND_WEDGE, value=wedge_id, response_url=bot.slack.response_url(key))
    answer = (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=5))[-1]
    assert "Invite resent" in answer["text"] and invite["status"] == "invited"


async def test_an_invite_bounced_again_after_a_resend_is_posted_again_once_in_the_candidates_thread():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr send_failure canceled")
        await bot.pipeline.poller.poll_all()
        ann, card = await invite_posted(bot, "ann@example.com", "Ann")
        assert "invite could not be sent" in card.text

        await resend_from_card(bot, ann, "resend")
        assert await bot.pipeline.poller.poll_all() == 0  # no invite of the account bounced now
        bot.wedgehr.set_invite_status(ann["id"], "send_failure")  # the address bounces again
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "invite could not be sent" in reply.text
        assert await bot.pipeline.poller.poll_all() == 0

        # Canceled, sent again (in WedgeHR this time) and canceled again, twice, while another
        # candidate's cancellation is listed.
        await invite_posted(bot, "bo@example.com", "Bo", status="canceled")
        for _ in range(2):
            bot.wedgehr.set_invite_status(ann["id"], "canceled")
            assert await bot.pipeline.poller.poll_all() == 1
            bot.wedgehr.set_invite_status(ann["id"], "invited")
            assert await bot.pipeline.poller.poll_all() == 0
        await bot.slack.wait_for(lambda: len(replies(bot, card)) == 3, timeout=5)
        assert ["interview canceled" in m.text for m in replies(bot, card)] == [False, True, True]
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.5)
        assert len(cards(bot)) == 2 and len(bot.slack.posted("C1")) == 5


async def test_an_invite_resent_and_bounced_again_before_the_next_poll_is_posted_again_once():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr send_failure")
        await bot.pipeline.poller.poll_all()
        ann, card = await invite_posted(bot, "ann@example.com", "Ann")
        _, bo_card = await invite_posted(bot, "bo@example.com", "Bo")

        # The address bounces again within seconds of the resend: no poll sees Ann's invite "invited".
        await resend_from_card(bot, ann, "resend")
        bot.wedgehr.set_invite_status(ann["id"], "send_failure")
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "invite could not be sent" in reply.text
        assert await bot.pipeline.poller.poll_all() == 0
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.3)
        assert len(replies(bot, card)) == 1 and not replies(bot, bo_card)  # Bo was not resent


async def test_after_an_upgrade_no_bounce_is_posted_again_and_one_bounced_anew_is():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr send_failure canceled")
        await bot.pipeline.poller.poll_all()
        ann, card = await invite_posted(bot, "ann@example.com", "Ann")
        bo, _ = await invite_posted(bot, "bo@example.com", "Bo", status="canceled")
        await resend_from_card(bot, ann, "resend")
        assert await bot.pipeline.poller.poll_all() == 0
        # What the release before this one left: each invite's status only, Ann's bounce kept while
        # nothing else bounced (the listing answered "nothing matches").
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        state = await stored_state(bot)
        assert state["invites"] == {str(ann["id"]): "send_failure", str(bo["id"]): "canceled"}
        old = {key: state[key] for key in ("baseline", "invites", "wedges", "completions", "polled_at")}
        async with bot.services.db.engine.begin() as conn:
            await conn.execute(
                sa.update(schema.poll_state).where(schema.poll_state.c.connection_id == connection.id).values(state=old)
            )
        assert await bot.pipeline.poller.poll_all() == 0
        assert await bot.pipeline.poller.poll_all() == 0

        bot.wedgehr.set_invite_status(ann["id"], "send_failure")  # bounced anew since the upgrade
        assert await bot.pipeline.poller.poll_all() == 1
        (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
        assert "invite could not be sent" in reply.text
        assert await bot.pipeline.poller.poll_all() == 0
        await asyncio.sleep(0.5)
        assert len(bot.slack.posted("C1")) == 3


async def test_an_invite_bounced_again_after_a_new_token_is_posted_as_a_new_bounce():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr send_failure canceled")
        await bot.pipeline.poller.poll_all()
        ann, card = await invite_posted(bot, "ann@example.com", "Ann")

        async def bounced_again():
            bot.wedgehr.set_invite_status(ann["id"], "invited")  # sent again in WedgeHR
            assert await bot.pipeline.poller.poll_all() == 0
            bot.wedgehr.set_invite_status(ann["id"], "send_failure")
            assert await bot.pipeline.poller.poll_all() == 1

        await bounced_again()
        await connect_token(bot, "rotated-token-0123456")  # the baseline starts again
        assert await bot.pipeline.poller.poll_all() == 0
        await bounced_again()
        await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2, timeout=5)
        assert all("invite could not be sent" in m.text for m in replies(bot, card))


async def test_a_token_refused_by_a_poll_begun_before_a_new_one_was_connected_pauses_nothing():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        new_token = "company-a-new-token-0123"
        bot.wedgehr.tokens = {new_token}  # the token was revoked in WedgeHR
        for _ in range(2):
            await bot.pipeline.poller.poll_all()
        # The third poll, with the old token, waits on WedgeHR while the admin connects the new one.
        bot.wedgehr.slow_next(1.5, when=lambda r: r.headers.get("Authorization") != f"Bearer {new_token}")
        polling = asyncio.create_task(bot.pipeline.poller.poll_all())
        await asyncio.sleep(0.2)
        await connect_token(bot, new_token)
        assert not polling.done()  # the refusal of the old token is still to come
        await polling
        await asyncio.sleep(0.3)
        assert not any("rejected" in message.text for message in bot.slack.posted("U1"))
        (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not subscription.paused
        # And the new token starts its own count: one refusal of it is not the old token's third.
        bot.wedgehr.fail_next(401)
        await bot.pipeline.poller.poll_all()
        (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not subscription.paused


async def test_a_wedgehr_account_slower_than_the_poll_interval_does_not_delay_another_workspaces_polls():
    async with running_bot(wedgehr_poll_seconds=0.5, env_credentials=False, **OAUTH) as bot:
        tokens = await two_workspaces_polled(bot)  # the bot's own timer takes both accounts' baselines
        # One account's poll now takes far longer than the interval (a huge account, a slow WedgeHR).
        bot.wedgehr.slow_next(3.5, when=lambda r: r.headers.get("Authorization") == f"Bearer {tokens['C2']}")
        for _ in range(20):
            if not bot.wedgehr._failures._slow:  # that poll has begun
                break
            await asyncio.sleep(0.1)
        completed_now(bot, "ann@example.com", "Ann")
        # The other workspace hears of it within about an interval, not once the slow poll is over.
        (card,) = await bot.slack.wait_for(lambda: cards(bot, "C1"), timeout=2)
        assert "Ann" in card.text


async def test_a_bounce_wedgehr_lists_with_its_status_as_a_number_is_posted():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await subscribe(bot, "subscribe wedgehr send_failure canceled")
        await bot.pipeline.poller.poll_all()
        interview = next(iter(bot.wedgehr.interviews.values()))
        bounced = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
        bounced["status"] = 3  # send_failure by its number, as filter[status] takes it (ERRATA)
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "invite could not be sent" in card.text
        assert await bot.pipeline.poller.poll_all() == 0


async def test_a_wedgehr_answer_trickled_for_ever_is_abandoned_and_the_next_poll_posts_the_completion(caplog):
    async with running_bot(wedgehr_poll_seconds=0.2) as bot:
        poller = bot.pipeline.poller
        poller.deadline_seconds = 0.8  # the timer's own: 5 intervals, at least 5 minutes
        await subscribe(bot, "subscribe wedgehr")
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        for _ in range(50):  # the timer takes the account's baseline
            if ((await bot.services.db.poll_state.load(connection.id)) or {}).get("baseline"):
                break
            await asyncio.sleep(0.1)
        # WedgeHR's next wedges listing comes a byte every 50 ms, for ever: each read is in time.
        bot.wedgehr.trickle_next(0.05, when=lambda r: r.path.endswith("/wedges"))
        completed_now(bot, "ann@example.com", "Ann")
        await bot.slack.wait_for(lambda: bot.wedgehr.trickling, timeout=5)
        # Abandoned at its deadline (its connection closed), and the next tick's poll posts Ann.
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Ann" in card.text
        assert bot.wedgehr.trickling == 0
        abandoned = [r for r in caplog.records if "took more than" in r.getMessage()]
        assert len(abandoned) == 1
        told = abandoned[0].getMessage()
        assert connection.id in told and "T0001" in told
        assert WEDGEHR_TOKEN not in caplog.text
        await asyncio.sleep(0.5)
        assert len(cards(bot)) == 1  # posted once: nothing of the abandoned poll was half-saved


async def test_an_invite_completed_after_its_wedge_shows_it_is_not_posted_again_as_the_candidates_older_walk_in():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        interview = next(iter(bot.wedgehr.interviews.values()))
        # Ann recorded through the interview's public link long ago: a wedge of her own, no invite.
        walk_in = bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="ann@example.com")
        walk_in["completedAt"] = PAST
        await watched(bot)
        # Then she is invited to the same interview (a wedge of its own, listed after the old one)
        # and records: WedgeHR's wedges show it a poll before its invites listing does.
        invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
        walk_in["inviteIds"].remove(invite["id"])
        own = bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
        own["inviteIds"].append(invite["id"])
        invite["_wedgeId"] = own["id"]
        bot.wedgehr.complete_invite(invite["id"])
        invite["status"] = "invited"
        assert await bot.pipeline.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        invite["status"] = "complete"
        assert await bot.pipeline.poller.poll_all() == 0
        await outbox_when_settled(bot)
        # Her completion, posted once: no "completed the interview" again in her thread for the old
        # recording, nor her card rewritten with it (no name there).
        assert bot.slack.posted("C1") == [card] and "Ann" in card.text


async def two_workspaces_polled(bot) -> dict[str, str]:
    """Two workspaces, each with its own WedgeHR token and a channel watching it, their baselines
    taken by the bot's own timer; each channel's token."""
    db = bot.services.db
    bot.slack.add_channel("C2", name="hiring-two", is_member=True)
    tokens = {}
    for team, channel in (("T0001", "C1"), ("T0002", "C2")):
        await install_workspace(bot, team_id=team)
        connection = await db.connections.upsert_workspace(
            team, "wedgehr", f"wedgehr-token-{team}", account_label="WedgeHR", connected_by="U1"
        )
        await db.subscriptions.add(
            team_id=team,
            channel_id=channel,
            vendor="wedgehr",
            events=["completed"],
            created_by="U1",
            connection_id=connection.id,
        )
        tokens[channel] = f"wedgehr-token-{team}"
    for _ in range(40):
        states = [
            await db.poll_state.load(c.id) for t in ("T0001", "T0002") for c in await db.connections.list_for_team(t)
        ]
        if all(s and s.get("baseline") for s in states):
            break
        await asyncio.sleep(0.1)
    return tokens


def polls_of(bot, token, since=0):
    """How many polls of the account with ``token`` WedgeHR saw (each begins with a wedges listing)."""
    return sum(1 for r in bot.wedgehr.requests[since:] if r.token == token and r.path.endswith("/wedges"))


async def test_a_wedgehr_429_asking_for_two_minutes_stops_that_accounts_polls_until_then_in_every_process():
    from bot.notify.poller import WedgeHRPoller

    async with running_bot(wedgehr_poll_seconds=0.2, env_credentials=False, **OAUTH) as bot:
        tokens = await two_workspaces_polled(bot)
        limited, other = tokens["C1"], tokens["C2"]
        before = len(bot.wedgehr.requests)
        bot.wedgehr.fail_next(
            429, headers={"Retry-After": "120"}, when=lambda r: r.headers.get("Authorization") == f"Bearer {limited}"
        )
        await bot.slack.wait_for(lambda: polls_of(bot, limited, before), timeout=3)
        after_429 = len(bot.wedgehr.requests)
        await asyncio.sleep(1.2)  # six ticks of the bot's timer
        # Another process sharing the database, and a poll by hand in this one: neither asks either.
        await WedgeHRPoller(services=bot.services, interval=0.2).poll_all()
        await bot.pipeline.poller.poll_all()
        assert polls_of(bot, limited, after_429) == 0
        assert polls_of(bot, other, after_429) >= 3  # the other workspace keeps its pace
        completed_now(bot, "ann@example.com", "Ann")
        (card,) = await bot.slack.wait_for(lambda: cards(bot, "C2"), timeout=3)
        assert "Ann" in card.text


async def an_interval_later(bot):
    """As if a poll interval had passed: another process may poll the accounts (the bot's timer waits an hour)."""
    async with bot.services.db.engine.begin() as conn:
        await conn.execute(sa.update(schema.poll_state).values(lease_expires_at=0))


SESSION_FAILED = {"message": "System could not fetch session data"}


async def test_wedgehr_failing_for_a_while_tells_the_person_once_and_once_that_it_is_back_with_what_was_missed():
    from bot.notify import Pipeline

    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        poller = bot.pipeline.poller
        poller.outage_seconds = 0.5  # the timer's own: 30 minutes (and at least 3 polls)
        another_process = Pipeline(services=bot.services, slack_client_for=bot.pipeline.worker.slack_client_for)
        another_process.poller.outage_seconds = 0.5
        await watched(bot)
        down = {"now": True}
        bot.wedgehr.fail_next(403, body=SESSION_FAILED, times=1000, when=lambda r: down["now"])
        completed_now(bot, "ann@example.com", "Ann")  # while WedgeHR fails

        await poller.poll_all()
        await asyncio.sleep(0.6)  # one failed poll, even long ago, is no outage: nobody is told
        assert not bot.slack.posted("U1")
        await poller.poll_all()  # two failed polls: still not
        await asyncio.sleep(0.2)
        assert not bot.slack.posted("U1")
        await poller.poll_all()
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=3)
        text = told.text + str(told.blocks)
        assert "WedgeHR could not fetch its session data" in text and "delayed" in text
        assert "posted once WedgeHR answers again" in text
        assert "WedgeHR notifications (account *from WEDGEHR_TOKEN*, posted in <#C1>) are delayed" in told.text
        # Not WedgeHR's own answer, nor a secret, nor the token taken for wrong (ERRATA: report it).
        assert "System could not fetch" not in text and WEDGEHR_TOKEN not in text
        assert not any(word in text.lower() for word in ("reconnect", "rejected", "invalid", "/interview connect"))
        # WedgeHR still failing, in this process and another: nobody is told again.
        await an_interval_later(bot)
        await another_process.poller.poll_all()
        await poller.poll_all()
        await asyncio.sleep(0.3)
        assert len(bot.slack.posted("U1")) == 1
        assert not cards(bot)

        down["now"] = False  # WedgeHR answers again: the next poll, in whichever process, catches up
        await an_interval_later(bot)
        assert await another_process.poller.poll_all() == 1
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Ann" in card.text
        _, back = await bot.slack.wait_for(lambda: len(bot.slack.posted("U1")) == 2 and bot.slack.posted("U1"))
        assert "WedgeHR answers again" in back.text
        await an_interval_later(bot)
        await poller.poll_all()
        await an_interval_later(bot)
        await another_process.poller.poll_all()
        await asyncio.sleep(0.3)
        assert len(bot.slack.posted("U1")) == 2


async def test_a_new_token_connected_during_a_wedgehr_outage_still_tells_that_it_is_back():
    from bot.vendors.http import NO_RETRIES

    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        poller = bot.pipeline.poller
        poller.outage_seconds, poller.outage_polls = 0, 2
        await watched(bot)
        bot.services.vendor_retry = NO_RETRIES  # no backoff between the tries of a 503: a fast test
        bot.wedgehr.fail_next(503, times=2)
        for _ in range(2):
            await poller.poll_all()
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=3)
        assert "WedgeHR answers with server errors" in told.text
        # The person thinks of their token and connects it again: the next poll works.
        await connect_token(bot, "company-a-new-token-0123")
        await poller.poll_all()
        _, back = await bot.slack.wait_for(lambda: len(bot.slack.posted("U1")) == 2 and bot.slack.posted("U1"))
        assert "WedgeHR answers again" in back.text


async def test_a_wedgehr_token_saved_under_another_bot_secret_key_is_one_warning_and_tells_the_person_to_reconnect(
    tmp_path, caplog
):
    # Each poll logged a traceback (every minute, for ever) and nobody in Slack heard of it: the
    # notifications just stopped.
    import logging

    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, wedgehr_poll_seconds=3600) as bot:
        await connect_token(bot, "company-a-token-0123")  # U1's, not a copy of WEDGEHR_TOKEN
        await watched(bot)
    caplog.set_level(logging.INFO, logger="bot")
    async with running_bot(
        database_url=database, secret_key=Fernet.generate_key().decode(), wedgehr_poll_seconds=3600
    ) as bot:
        poller = bot.pipeline.poller
        poller.outage_seconds, poller.outage_polls = 0, 3
        completed_now(bot, "ann@example.com", "Ann")  # while the token cannot be read
        await an_interval_later(bot)  # the process before polled last
        for _ in range(3):
            await poller.poll_all()
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=3)
        text = told.text + str(told.blocks)
        assert "the bot cannot read the WedgeHR token saved for this account" in told.text
        assert "Connect the account again with `/interview connect`" in told.text
        assert "Nothing to do on your side" not in text and "company-a-token" not in text
        polled = [r for r in caplog.records if r.name == "bot.notify.poller" and r.levelno >= logging.WARNING]
        assert not [r for r in polled if r.exc_info], "a traceback a poll"
        (warned,) = [r.getMessage() for r in polled if "BOT_SECRET_KEY" in r.getMessage()]
        assert "saved under another BOT_SECRET_KEY" in warned and "/interview connect" in warned

        await connect_token(bot, "company-a-token-0123")  # connected again: the same account
        assert await poller.poll_all() == 1  # what was completed meanwhile is posted
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
        assert "Ann" in card.text
        _, back = await bot.slack.wait_for(lambda: len(bot.slack.posted("U1")) == 2 and bot.slack.posted("U1"))
        assert "notifications (account" in back.text and "are back" in back.text
