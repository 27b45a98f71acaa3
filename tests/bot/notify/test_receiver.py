"""The Spark Hire receiver over raw HTTP: however a delivery is framed, it is read whole or refused clearly."""

import asyncio
import base64
import contextlib
import json
import logging
import secrets
from urllib.parse import quote, urlsplit

import aiohttp
import httpx
import pytest

from bot.notify.receiver import webhook_path
from bot.storage import repos
from tests.bot.notify.test_pipeline import cards, completed_interview, subscribe
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.harness import running_bot


def webhook_of(bot) -> tuple[str, dict[str, str]]:
    (hook,) = bot.sparkhire.webhooks.values()
    credentials = base64.b64encode(hook["_auth"].encode()).decode()
    return hook["url"], {"Authorization": "Basic " + credentials, "X-SparkHire-Event": "InterviewCompleted"}


async def test_a_delivery_arriving_in_two_packets_is_read_whole_and_posted(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    body = json.dumps(completed_interview(bot)).encode()
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body[:100]
    )
    await writer.drain()
    await asyncio.sleep(0.3)  # the rest of the body comes in a later packet, as on any real network
    writer.write(body[100:])
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert b" 200 " in status_line, status_line
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text


async def test_chunked_deliveries_get_200_under_1_mib_and_413_over_it(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    headers["Content-Type"] = "application/json"

    async def post_chunked(body: bytes) -> int:
        async def chunks():
            for start in range(0, len(body), 16 * 1024):
                yield body[start : start + 16 * 1024]
                await asyncio.sleep(0)

        async with aiohttp.ClientSession() as session, session.post(url, data=chunks(), headers=headers) as response:
            return response.status

    large_but_allowed = json.dumps({**completed_interview(bot), "notes": "x" * 300_000}).encode()
    too_large = json.dumps({"notes": "x" * (2 * 1024 * 1024)}).encode()
    assert (await post_chunked(large_but_allowed), await post_chunked(too_large)) == (200, 413)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text


async def test_the_basic_scheme_is_matched_whatever_its_case(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    headers["Authorization"] = "basic " + headers["Authorization"].removeprefix("Basic ")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json=completed_interview(bot), headers=headers)
    assert response.status_code == 200
    await bot.slack.wait_for(lambda: cards(bot))


async def test_credentials_that_are_not_base64_text_get_401_not_a_500(bot):
    # A non-ASCII character made base64 raise ValueError, answered 500 with a traceback logged.
    await subscribe(bot)
    url, headers = webhook_of(bot)
    garbled = ["Basic é".encode("latin-1"), "basic ünïcode==".encode(), b"Basic \xff\xff", b"Basic !!", b"Bearer x"]
    async with httpx.AsyncClient() as client:
        for authorization in garbled:
            response = await client.post(
                url, json=completed_interview(bot), headers={**headers, "Authorization": authorization}
            )
            assert response.status_code == 401, authorization
    await asyncio.sleep(0.3)
    assert cards(bot) == []


async def test_webhook_passwords_are_compared_in_constant_time(bot, monkeypatch):
    # An == on the password would leak through timing how much of a guess was right.
    import hmac

    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    await subscribe(bot)
    url, headers = webhook_of(bot)
    (hook,) = bot.sparkhire.webhooks.values()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    guess = hook["_auth"][:-1] + ("x" if hook["_auth"][-1] != "x" else "y")
    wrong = {**headers, "Authorization": "Basic " + base64.b64encode(guess.encode()).decode()}
    async with httpx.AsyncClient() as client:
        right_status = (await client.post(url, json=completed_interview(bot), headers=headers)).status_code
        wrong_status = (await client.post(url, json=completed_interview(bot), headers=wrong)).status_code
    assert (right_status, wrong_status) == (200, 401)
    presented = [a for a, _ in compared] + [b for _, b in compared]
    assert hook["_auth"].encode() in presented and guess.encode() in presented


async def test_a_delivery_in_an_unexpected_shape_is_posted_from_the_interview_it_names(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    interview = completed_interview(bot)
    odd = {"uuid": interview["uuid"], "assigned_to": ["not", "an", "object"], "status": 3}
    unreadable = {"assigned_to": "nobody"}
    async with httpx.AsyncClient() as client:
        for body in (odd, unreadable):
            assert (await client.post(url, json=body, headers=headers)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Ann Lee" in card.text  # fetched from Spark Hire: the delivery's own copy was unreadable
    for _ in range(50):  # the second waits out the channel's pacing, then is settled
        counts = await bot.services.db.outbox.counts()
        if not counts.get("pending"):
            break
        await asyncio.sleep(0.1)
    assert counts == {"sent": 1, "skipped": 1}, counts  # the unreadable one is not retried forever
    assert len(bot.slack.posted("C1")) == 1


async def test_an_unexpected_shape_waits_out_a_spark_hire_outage_instead_of_being_dropped(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    interview = completed_interview(bot)
    bot.sparkhire.fail_next(503, times=6)  # more than one fetch's retries
    async with httpx.AsyncClient() as client:
        odd = {"uuid": interview["uuid"], "assigned_to": "someone"}
        assert (await client.post(url, json=odd, headers=headers)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=20)
    assert "Ann Lee" in card.text


async def test_bodies_no_database_could_store_get_400_not_a_500(bot):
    await subscribe(bot)
    url, headers = webhook_of(bot)
    bodies = {
        "nested 5000 deep": b'{"a":' * 5000 + b"1" + b"}" * 5000,
        "nested 500 deep": b'{"a":' * 500 + b"1" + b"}" * 500,
        "NaN": b'{"uuid": "nan-1", "rating": NaN}',
        "Infinity": b'{"uuid": "inf-1", "rating": -Infinity}',
        "a number past a float": b'{"uuid": "big-1", "rating": 1e999}',
    }
    async with httpx.AsyncClient() as client:
        for name, body in bodies.items():
            answer = await client.post(url, content=body, headers=headers)
            assert answer.status_code == 400, name
    assert await bot.services.db.events.count() == 0


@contextlib.asynccontextmanager
async def bot_on_postgresql():
    database_url, cleanup = await fresh_postgres_database()
    try:
        async with running_bot(database_url=database_url, wedgehr_poll_seconds=0.2) as running:
            yield running
    finally:
        await cleanup()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_on_postgresql_a_uuid_longer_than_its_column_is_stored_and_posted():
    async with bot_on_postgresql() as bot:
        await subscribe(bot)
        url, headers = webhook_of(bot)
        body = {**completed_interview(bot), "uuid": "u" * 400}
        async with httpx.AsyncClient() as client:
            assert (await client.post(url, json=body, headers=headers)).status_code == 200
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        assert "Ann Lee" in card.text


async def test_a_delivery_with_nul_characters_is_stored_without_them_and_posted_once(database_url):
    # PostgreSQL's text cannot hold a NUL: one in the uuid was answered 422 there (the event lost, and
    # a failure toward Spark Hire disabling the webhook); one in a name reached the card as it was.
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        interview = completed_interview(bot)
        uuid = interview["uuid"]
        sent = {
            **interview,
            "uuid": uuid[:8] + "\x00" + uuid[8:],
            "assigned_to": {**interview["assigned_to"], "name": "Ann\x00 Lee"},
            "reviewer_comment": "Strong\x00 answers",
            "notes\x00": "a key with a NUL",
        }
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", sent)
        assert delivery.status == 200
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        assert card.text.startswith("Ann Lee completed")
        assert "\x00" not in json.dumps(card.blocks, ensure_ascii=False)
        assert uuid in json.dumps(card.blocks)  # its link is the interview's, the NUL taken out
        # Spark Hire retries the same delivery: still recognised, not stored or posted again.
        (again,) = await bot.sparkhire.emit("InterviewCompleted", sent)
        assert again.status == 200
        url, headers = webhook_of(bot)
        async with httpx.AsyncClient() as client:
            answer = await client.post(url, json=sent, headers=headers)
        assert answer.json() == {"ok": True, "duplicate": True}
        await asyncio.sleep(1.5)  # past the channel's pacing: a second card would have been posted
        assert len(bot.slack.posted("C1")) == 1
        assert await bot.services.db.events.count() == 1


async def test_a_delivery_to_a_connection_id_no_database_can_hold_gets_401_not_a_503_and_no_error(database_url, caplog):
    # PostgreSQL cannot compare a NUL: a path id with one (anyone can send it) was answered 503, as in a
    # database outage (the sender retries), with "Database unavailable" logged at ERROR each time.
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        url, headers = webhook_of(bot)
        base, _, right_id = url.rstrip("/").rpartition("/")
        async with httpx.AsyncClient() as client:
            answers = [
                (await client.post(f"{base}/{quote(odd, safe='')}", json=completed_interview(bot), headers=headers))
                for odd in (right_id + "\x00", "\x00", right_id[:8] + "\x00" + right_id[9:])
            ]
            right = await client.post(url, json=completed_interview(bot), headers=headers)
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert right.status_code == 200  # the connection itself still takes deliveries


async def test_a_delivery_no_database_can_store_gets_4xx_and_the_rest_of_its_batch_is_stored(database_url):
    # A lone surrogate is no text at all: PostgreSQL refuses it, SQLite's driver cannot encode it (a
    # 500 there, for every retry). Sent together, the deliveries share one commit: all of them got
    # 503 on PostgreSQL, as if the database were down, and the refused one got it forever.
    unstorable = b'{"uuid": "a\\ud800b"}'
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        url, headers = webhook_of(bot)
        goods = [{**completed_interview(bot), "uuid": f"good-{n}"} for n in range(8)]
        async with httpx.AsyncClient() as client:
            answers = await asyncio.gather(
                client.post(url, content=unstorable, headers=headers),
                *(client.post(url, json=good, headers=headers) for good in goods),
            )
            assert answers[0].status_code == 422, answers[0].text
            assert [a.status_code for a in answers[1:]] == [200] * len(goods)
            again = await client.post(url, content=unstorable, headers=headers)
            assert again.status_code == 422
        assert await bot.services.db.events.count() == len(goods)


async def test_deliveries_to_many_unknown_connections_do_not_make_the_real_one_read_the_database(bot, monkeypatch):
    # Anyone may POST to any connection id: each unknown one was cached beside the real connections,
    # and once the cache was full it was emptied, so Spark Hire's next delivery read the database again
    # (and in an outage got 503 where the cached answer would have served).
    monkeypatch.setattr(repos, "MAX_CACHED_ANSWERS", 20)  # the real bound is 10,000: the same, sooner
    await subscribe(bot)
    url, headers = webhook_of(bot)
    connections = bot.services.db.connections
    reads: list[str] = []
    read = connections.webhook_auth

    async def counted(connection_id: str):
        reads.append(connection_id)
        return await read(connection_id)

    monkeypatch.setattr(connections, "webhook_auth", counted)
    interview = completed_interview(bot)
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json=interview, headers=headers)).status_code == 200
        await bot.slack.wait_for(lambda: cards(bot))  # its card is posted: nothing else reads meanwhile
        real_id = url.rsplit("/", 1)[1]
        assert reads == [real_id]
        wrong_password = {**headers, "Authorization": "Basic " + base64.b64encode(b"interview-bot:guess").decode()}
        guessed = await client.post(url, json=interview, headers=wrong_password)
        unknown = [url.rsplit("/", 1)[0] + "/" + secrets.token_hex(16) for _ in range(50)]
        refused = [await client.post(other, json=interview, headers=headers) for other in unknown]
        # An unknown connection is answered as a wrong password is: nothing tells them apart.
        assert guessed.status_code == 401
        assert {(r.status_code, r.text, r.headers["WWW-Authenticate"]) for r in refused} == {
            (guessed.status_code, guessed.text, guessed.headers["WWW-Authenticate"])
        }
        again = await client.post(url, json=interview, headers=headers)
    assert again.json() == {"ok": True, "duplicate": True}
    assert reads.count(real_id) == 1  # answered from what the bot already knew of its connection


async def test_a_webhook_refused_before_its_password_was_stored_is_accepted_at_once_after(bot):
    # A delivery to a connection without a webhook yet is refused, and that answer cached; subscribing
    # (which stores the password) must not wait for the cached refusal to run out.
    bot.services.db.connections.webhook_auth_recheck_seconds = 60
    connection = await bot.services.resolve_connection("T0001", "sparkhire", "U1")
    early = {"Authorization": "Basic " + base64.b64encode(b"interview-bot:early").decode()}
    async with httpx.AsyncClient() as client:
        before = await client.post(bot.url + webhook_path(connection.id), json={}, headers=early)
    assert before.status_code == 401
    await subscribe(bot)
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    assert delivery.status == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text
