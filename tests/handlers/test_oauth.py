"""OAuth install for many workspaces: /slack/install, /slack/oauth_redirect, then the stored token is used."""

import asyncio
import time
from urllib.parse import parse_qs, urlparse

import httpx
import sqlalchemy as sa

from tests.support.fake_slack import BOT_TOKEN
from tests.support.harness import OAUTH, install_workspace, running_bot


async def test_install_then_commands_use_the_stored_installation():
    async with running_bot(
        slack_bot_token=None, slack_client_id="1111.2222", slack_client_secret="fake-client-secret-0123456789"
    ) as bot:
        async with httpx.AsyncClient(base_url=bot.url) as http:
            # Before install: the workspace is unknown; the user is asked to install, nothing else happens.
            before = await bot.sender.command("help", response_url=bot.slack.response_url("before"))
            assert before.status_code == 200
            (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("before"))
            assert "/slack/install" in told["text"]

            page = await http.get("/slack/install")
            assert page.status_code == 200
            authorize = next(
                link for link in page.text.split('"') if link.startswith("https://slack.com/oauth/v2/authorize")
            )
            query = parse_qs(urlparse(authorize.replace("&amp;", "&")).query)
            assert query["client_id"] == ["1111.2222"]
            assert "chat:write" in query["scope"][0] and "commands" in query["scope"][0]

            # The user allows the app; Slack redirects the browser back with a code and the state we issued
            # (the state cookie is Secure, which a browser sends over the bot's https PUBLIC_URL).
            bot.slack.oauth_codes.add("code-123")
            state = query["state"][0]
            assert f"slack-app-oauth-state={state}" in page.headers["set-cookie"]
            browser = {"Cookie": f"slack-app-oauth-state={state}"}
            done = await http.get("/slack/oauth_redirect", params={"code": "code-123", "state": state}, headers=browser)
            assert done.status_code == 200 and "Slack" in done.text
            replay = await http.get(
                "/slack/oauth_redirect", params={"code": "code-123", "state": state}, headers=browser
            )
            assert replay.status_code != 200  # a state is single use

        installed = await bot.services.db.installation_store("1111.2222").async_find_bot(
            enterprise_id=None, team_id="T0001"
        )
        assert installed is not None and installed.bot_token == BOT_TOKEN

        response = await bot.sender.command("help")
        assert response.status_code == 200 and "/interview invite" in response.text
        await bot.sender.command("invite")
        (opened,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
        assert opened.token == BOT_TOKEN


async def oauth_states(bot) -> int:
    async with bot.services.db.engine.connect() as conn:
        return (await conn.execute(sa.text("SELECT count(*) FROM slack_oauth_states"))).scalar()


async def test_a_flood_of_install_pages_is_answered_429_and_stores_few_states():
    async with running_bot(**OAUTH) as bot:
        async with httpx.AsyncClient(base_url=bot.url) as http:
            answers = [await http.get("/slack/install") for _ in range(40)]
        statuses = [answer.status_code for answer in answers]
        # A few installs at once go through (ten), the rest of the burst is told when to come back.
        served = statuses.count(200)
        assert 1 <= served <= 10 and statuses == [200] * served + [429] * (40 - served)
        assert all(int(a.headers["Retry-After"]) > 0 for a in answers[served:])
        assert await oauth_states(bot) == served


async def test_housekeeping_deletes_install_states_past_their_expiry(database_url):
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        db = bot.services.db
        for _ in range(3):  # install pages nobody followed, ten minutes ago and more
            await db.oauth_state_store(expiration_seconds=-1).async_issue()
        current = await db.oauth_state_store().async_issue()
        report = await bot.pipeline.housekeeper.purge()
        assert await oauth_states(bot) == 1
        assert report.oauth_states_deleted == 3
        assert await db.oauth_state_store().async_consume(current)  # the one in use still works


async def test_commands_of_an_installed_workspace_do_not_wait_for_auth_test_each_time():
    async with running_bot(**OAUTH) as bot:
        await install_workspace(bot)
        first = await bot.sender.command("help")
        assert first.status_code == 200 and "/interview invite" in first.text
        # Slack would be slow to answer auth.test now (beyond the 3 s a command has): nothing waits for it.
        bot.slack.before_answering["auth.test"] = lambda: asyncio.sleep(3.5)
        for _ in range(4):
            began = time.monotonic()
            answer = await bot.sender.command("help")
            assert answer.status_code == 200 and "/interview invite" in answer.text
            assert time.monotonic() - began < 3
        assert len(bot.slack.calls_to("auth.test")) == 1


def authorize_query(page: httpx.Response) -> dict[str, list[str]]:
    """The query of the install page's "Add to Slack" link, as the browser will send it to Slack."""
    link = next(part for part in page.text.split('"') if part.startswith("https://slack.com/oauth/v2/authorize"))
    return parse_qs(urlparse(link.replace("&amp;", "&")).query, keep_blank_values=True)


async def test_the_install_link_carries_only_the_scopes_and_redirect_the_bot_asks_for():
    # Someone sends an admin a link to the bot's own install page whose ?team= smuggles more
    # parameters into the "Add to Slack" link: a user token with wide scopes, another redirect.
    smuggled = "T0001&user_scope=channels:history,chat:write&redirect_uri=https://evil.example/cb&scope=admin"
    async with running_bot(**OAUTH) as bot, httpx.AsyncClient(base_url=bot.url) as http:
        page = await http.get("/slack/install", params={"team": smuggled})
        assert page.status_code == 200
        query = authorize_query(page)
        assert query["user_scope"] == [""] and "redirect_uri" not in query
        assert len(query["scope"]) == 1 and "admin" not in query["scope"][0].split(",")
        assert "team" not in query  # not a workspace id: the admin picks the workspace on Slack's page

        # A real workspace id still pre-selects the workspace, as Bolt's ?team= does.
        assert authorize_query(await http.get("/slack/install", params={"team": "T0001"}))["team"] == ["T0001"]


async def test_install_pages_sent_a_body_in_an_unknown_charset_answer_as_without_it():
    async with running_bot(**OAUTH) as bot, httpx.AsyncClient(base_url=bot.url) as http:
        odd = {"content": b"\xff\xfe", "headers": {"Content-Type": "text/plain; charset=no-such-charset"}}
        page = await http.request("GET", "/slack/install", **odd)
        assert page.status_code == 200 and "slack.com/oauth/v2/authorize" in page.text
        callback = await http.request("GET", "/slack/oauth_redirect?code=c&state=s", **odd)
        assert callback.status_code == 400 and "invalid_browser" in callback.text  # no state cookie


async def test_one_install_state_completes_one_install_however_many_redirects_race_with_it(database_url):
    # The browser sends the redirect several times at once (a double click, a retry): one may use the
    # state; slack-sdk's store read it, then deleted it, and every reader went on to install.
    async with running_bot(database_url=database_url, **OAUTH) as bot, httpx.AsyncClient(base_url=bot.url) as http:
        state = authorize_query(await http.get("/slack/install"))["state"][0]
        browser = {"Cookie": f"slack-app-oauth-state={state}"}
        codes = [f"code-{n}" for n in range(4)]
        bot.slack.oauth_codes.update(codes)
        answers = await asyncio.gather(
            *[http.get("/slack/oauth_redirect", params={"code": c, "state": state}, headers=browser) for c in codes]
        )
        assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]
        assert len(bot.slack.calls_to("oauth.v2.access")) == 1


async def test_a_head_request_for_the_redirect_leaves_the_state_and_code_to_the_admins_browser():
    async with running_bot(**OAUTH) as bot, httpx.AsyncClient(base_url=bot.url) as http:
        state = authorize_query(await http.get("/slack/install"))["state"][0]
        browser = {"Cookie": f"slack-app-oauth-state={state}"}
        bot.slack.oauth_codes.add("code-1")
        params = {"code": "code-1", "state": state}
        # A link prefetcher (a mail or chat client) sends HEAD first: it used the state and the code.
        prefetched = await http.head("/slack/oauth_redirect", params=params, headers=browser)
        assert prefetched.status_code == 200 and bot.slack.calls_to("oauth.v2.access") == []
        done = await http.get("/slack/oauth_redirect", params=params, headers=browser)
        assert done.status_code == 200 and len(bot.slack.calls_to("oauth.v2.access")) == 1


async def test_head_requests_for_the_install_page_store_no_state_and_leave_admins_their_installs():
    # aiohttp answers HEAD with a GET's handler: each stored a state and used a slot, so a link checker
    # (or anyone) sending one every few seconds kept the admins who followed the link at 429.
    async with running_bot(**OAUTH) as bot:
        async with httpx.AsyncClient(base_url=bot.url) as http:
            heads = [await http.head("/slack/install") for _ in range(40)]
            assert [h.status_code for h in heads] == [200] * 40
            assert heads[0].headers["content-type"].startswith("text/html") and heads[0].content == b""
            assert "set-cookie" not in heads[0].headers
            assert await oauth_states(bot) == 0
            pages = [await http.get("/slack/install") for _ in range(10)]
            assert [p.status_code for p in pages] == [200] * 10  # the whole burst is still the admins'
            assert all(authorize_query(p)["state"] for p in pages)
            full = await http.head("/slack/install")  # as a GET would be answered now
            assert full.status_code == 429 and int(full.headers["Retry-After"]) > 0
        assert await oauth_states(bot) == 10
