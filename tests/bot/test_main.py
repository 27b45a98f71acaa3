"""The command line as an operator uses it: python -m bot, doctor, migrate, --sandbox."""

import asyncio
import contextlib
import errno
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography.fernet import Fernet

from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.storage import Database
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support.databases import TEST_DATABASE_URL
from tests.support.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.support.harness import WEDGEHR_TOKEN, running_bot
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, SlackSender


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "WEDGEHR_", "SPARKHIRE_")) and k not in {"DATABASE_URL", "PUBLIC_URL"}
    }
    return {**env, **extra}


def run(args, tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_slack_credentials_says_what_to_set(tmp_path):
    result = run([], tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    assert "manifest.yml" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[], ["doctor"], ["migrate"]], ids=["run", "doctor", "migrate"])
@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"PORT": "not-a-port"}, "Setting PORT:"),
        ({"DATABASE_URL": "mysql://x"}, "Setting DATABASE_URL: DATABASE_URL must start with sqlite:///"),
        ({"LOG_LEVEL": "verbose"}, "Setting LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ({"BOT_SECRET_KEY": "not-a-key"}, "Setting BOT_SECRET_KEY: must be a Fernet key"),
        ({"VENDOR_KEYS_TEAM_IDS": "acme.slack.com"}, "Setting VENDOR_KEYS_TEAM_IDS: acme.slack.com is not a Slack"),
        # asyncpg refused it at the first connection, which read as an outage (exit 1).
        (
            {"DATABASE_URL": "postgresql://bot@127.0.0.1/bot?sslmode=bogus"},
            "Setting DATABASE_URL: the URL's option sslmode=bogus is not a TLS mode: use one of disable, allow, "
            "prefer, require, verify-ca, verify-full",
        ),
        # libpq's, not asyncpg's: a traceback at the first connection.
        (
            {"DATABASE_URL": "postgres://bot@127.0.0.1/bot?sslmode=require&channel_binding=require"},
            "Setting DATABASE_URL: the URL's option channel_binding is one the PostgreSQL driver (asyncpg) does not",
        ),
        # "inf" is a float to Python: the start was a traceback (SQLite's busy timeout), doctor blamed
        # DATABASE_URL; the other durations were accepted (tests/bot/test_settings.py).
        ({"DATABASE_TIMEOUT_SECONDS": "inf"}, "Setting DATABASE_TIMEOUT_SECONDS: Input should be a finite number"),
    ],
    ids=[
        "port",
        "database-url",
        "log-level",
        "secret-key",
        "vendor-keys-team-ids",
        "sslmode",
        "libpq-option",
        "database-timeout-inf",
    ],
)
def test_a_bad_setting_is_named_in_one_line_before_anything_starts(tmp_path, command, setting, says):
    result = run(command, tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", **setting)
    assert result.returncode == 2 and says in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""  # not one check ran


def test_a_dot_env_file_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    # As Windows PowerShell's `echo SLACK_BOT_TOKEN=... > .env` writes it (UTF-16): it was a traceback.
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=s\n", encoding="utf-16")
    for command in ([], ["doctor"], ["migrate"]):
        result = run(command, tmp_path)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"{tmp_path / '.env'}: not UTF-8 text (") and "save it as UTF-8" in line


async def test_sqlite_on_a_heroku_dyno_is_said_to_be_lost_at_every_restart(tmp_path, monkeypatch, caplog):
    # A Heroku app without its Postgres add-on ran on SQLite on the dyno's disk: everything stored
    # was gone after the next restart (at least daily), and nothing said so.
    env = dict(DYNO="web.1", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/")
    doctor = await asyncio.to_thread(run, ["doctor"], tmp_path, **env)
    (line,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "database"]
    assert line.startswith("warn") and "SQLite file on a Heroku dyno" in line and "Attach Heroku Postgres" in line

    caplog.set_level(logging.WARNING, logger="bot")
    monkeypatch.setenv("DYNO", "web.1")
    async with running_bot():
        pass
    assert any("SQLite file on a Heroku dyno" in r.getMessage() for r in caplog.records)


async def test_a_start_with_another_bot_secret_key_says_once_that_it_opens_none_of_the_stored_credentials(
    tmp_path, caplog
):
    # Nothing was said at start: only each request that needed a credential failed, one by one.
    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database) as bot:
        await bot.services.db.connections.upsert_user("T0001", "U1", "sparkhire", "dee-key-0123", account_label="Dee")
    caplog.set_level(logging.WARNING, logger="bot")
    async with running_bot(database_url=database):
        pass
    (said,) = [r.getMessage() for r in caplog.records if "stored credentials" in r.getMessage()]
    assert said.startswith("BOT_SECRET_KEY opens 0 of the 1 stored credentials tried: it is not the key"), said
    assert "/interview connect" in said and "python -m bot doctor" in said and "dee-key-0123" not in said
    caplog.clear()
    async with running_bot(database_url=database, secret_key=bot.settings.bot_secret_key.get_secret_value()):
        pass  # the key they were saved with: nothing to say
    assert not [r for r in caplog.records if "stored credentials" in r.getMessage()]


def test_doctor_reads_the_database_without_making_or_migrating_it(tmp_path):
    # It migrated: run from another directory it left a database file there, and on a shared
    # PostgreSQL it upgraded the schema under processes still running the release before.
    file = tmp_path / "bot.sqlite3"
    url = f"sqlite:///{file}"

    def doctor_says() -> str:
        result = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", DATABASE_URL=url)
        (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "database"]
        return line

    said = doctor_says()
    assert said.startswith("warn") and f"no database at {file} yet" in said and "python -m bot migrate" in said
    assert not file.exists()
    assert run(["migrate"], tmp_path, DATABASE_URL=url).returncode == 0
    assert doctor_says().startswith("ok") and "schema up to date" in doctor_says()
    with contextlib.closing(sqlite3.connect(file)) as writer:  # a running bot writing meanwhile
        writer.execute("BEGIN IMMEDIATE")
        said = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", DATABASE_URL=url, DATABASE_TIMEOUT_SECONDS="1")
        (line,) = [line for line in said.stdout.splitlines() if line.split()[1] == "database"]
        assert line.startswith("ok"), line  # it waited for the write lock, then failed
    latest = Database.latest_schema_version()
    with contextlib.closing(sqlite3.connect(file)) as conn, conn:  # as the release before left it
        conn.execute("DELETE FROM schema_version WHERE version = ?", (latest,))
    said = doctor_says()
    assert said.startswith("warn") and f"at schema version {latest - 1} of {latest}" in said
    with contextlib.closing(sqlite3.connect(file)) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone() == (latest - 1,)


async def test_doctor_says_when_bot_secret_key_is_not_the_key_the_stored_credentials_were_saved_with(tmp_path):
    # It said "ok key BOT_SECRET_KEY set" of a key that opened none of them: every flow then failed.
    from bot.crypto import SecretBox

    url = f"sqlite:///{tmp_path}/bot.sqlite3"
    saved_with = Fernet.generate_key().decode()
    db = Database(url=f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", secret_box=SecretBox(saved_with.encode()))
    try:
        await db.migrate()
        await db.connections.upsert_user("T0001", "U1", "sparkhire", "dee-spark-key-0123", account_label="Dee")
        wedge = await db.connections.upsert_workspace(
            "T0001", "wedgehr", "wedge-0123", account_label="Acme", connected_by="U2"
        )
        await db.connections.set_webhook(wedge.id, webhook_uuid=None, webhook_auth="interview-bot:hook-password")
    finally:
        await db.aclose()

    def secrets_line(key: str) -> str:
        result = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", DATABASE_URL=url, BOT_SECRET_KEY=key)
        (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "secrets"]
        # Counts only: no secret, no key, nobody's id.
        assert not [
            said for said in ("dee-spark-key", "wedge-0123", "hook-password", "U1", "U2", key) if said in result.stdout
        ]
        return line

    wrong = await asyncio.to_thread(secrets_line, Fernet.generate_key().decode())
    assert wrong.startswith("FAIL") and "BOT_SECRET_KEY opens 0 of 3 stored credentials" in wrong, wrong
    assert "not the key they were saved with" in wrong and "/interview connect" in wrong
    right = await asyncio.to_thread(secrets_line, saved_with)
    assert right.startswith("ok") and "BOT_SECRET_KEY opens all 3 stored credentials" in right, right


def test_migrate(tmp_path):
    result = run(
        ["migrate"], tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/m.db", BOT_SECRET_KEY=Fernet.generate_key().decode()
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout and (tmp_path / "m.db").exists()


async def test_a_database_a_newer_release_migrated_is_said_so_by_migrate_and_at_start(tmp_path):
    # migrate said "up to date (schema version <this release's>)", and the start nothing at all.
    env = dict(DATABASE_URL=f"sqlite:///{tmp_path}/m.db", BOT_SECRET_KEY=Fernet.generate_key().decode())
    assert (await asyncio.to_thread(run, ["migrate"], tmp_path, **env)).returncode == 0
    latest = Database.latest_schema_version()
    with contextlib.closing(sqlite3.connect(tmp_path / "m.db")) as conn, conn:
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", (latest + 1,))
    result = await asyncio.to_thread(run, ["migrate"], tmp_path, **env)
    assert result.returncode == 0 and result.stderr == ""
    (said,) = result.stdout.splitlines()
    assert f"is at schema version {latest + 1}, newer than this release's {latest}" in said
    assert "up to date" not in said

    bot = BotProcess(
        env=clean_env(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"http://127.0.0.1:{free_port()}/",
            **env,
        ),
        port=free_port(),
        workdir=tmp_path,
    )
    await bot.start()
    await bot.stop()
    assert f"schema version {latest + 1}, newer than this release's {latest}" in bot.log.read_text()


async def test_doctor_reports_every_check(tmp_path):
    slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(tokens={"good-wedge-token"}), SparkHireSandbox()
    async with AsyncExitStack() as stack:
        slack_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        env = dict(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_url + "/api/",
            WEDGEHR_API_URL=wedgehr_url,
            WEDGEHR_TOKEN="wrong-wedge-token",
            SPARKHIRE_API_URL=sparkhire_url,
            SPARKHIRE_API_KEY="good-spark-key",
            DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
            BOT_SECRET_KEY=Fernet.generate_key().decode(),
            SPARKHIRE_API_KY="a-typo",  # ignored: said so
        )
        assert (await asyncio.to_thread(run, ["migrate"], tmp_path, **env)).returncode == 0
        result = await asyncio.to_thread(run, ["doctor"], tmp_path, **env)
    lines = result.stdout.splitlines()
    by_name = {line.split()[1]: line.split()[0] for line in lines}
    assert "SPARKHIRE_API_KY is not a setting, so it is ignored: did you mean SPARKHIRE_API_KEY?" in result.stdout
    assert by_name == {
        "config": "ok",
        "names": "warn",
        "public": "skip",
        "key": "ok",
        "database": "ok",
        "secrets": "ok",
        "slack": "ok",
        "scopes": "ok",
        "wedgehr": "FAIL",
        "sparkhire": "ok",
    }
    assert result.returncode == 1
    assert "wrong-wedge-token" not in result.stdout + result.stderr
    (wedgehr_line,) = [line for line in lines if line.split()[1] == "wedgehr"]
    assert "refused WEDGEHR_TOKEN (401): set it to a current company integration token" in wedgehr_line
    assert "/interview connect" not in wedgehr_line  # the operator's setting, not a workspace's connection
    assert "team Acme" in result.stdout and "Company User at Shermer Staffing" in result.stdout


async def test_doctor_says_what_to_do_when_slack_refuses_or_cannot_be_reached(tmp_path):
    slack = FakeSlack()
    env = dict(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    async with serve(slack.app) as slack_url:
        refused = await asyncio.to_thread(
            run, ["doctor"], tmp_path, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_API_URL=slack_url + "/api/", **env
        )
    unreachable_url = f"http://127.0.0.1:{free_port()}/api/"
    unreachable = await asyncio.to_thread(
        run, ["doctor"], tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=unreachable_url, **env
    )
    async with serve(web.Application()) as not_slack:  # a wrong SLACK_API_URL: a 404 page, not Slack's JSON
        wrong_url = await asyncio.to_thread(
            run, ["doctor"], tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=not_slack + "/", **env
        )
    (wrong_url_line,) = [line for line in wrong_url.stdout.splitlines() if line.split()[1] == "slack"]
    assert wrong_url_line.startswith("FAIL") and f"SLACK_API_URL answered HTTP 404 from {not_slack}/" in wrong_url_line
    assert "refused SLACK_BOT_TOKEN" not in wrong_url_line  # no token was looked at
    (refused_line,) = [line for line in refused.stdout.splitlines() if line.split()[1] == "slack"]
    assert refused_line.startswith("FAIL") and "invalid_auth" in refused_line
    assert "OAuth & Permissions" in refused_line and "xoxb-revoked" not in refused.stdout + refused.stderr
    (unreachable_line,) = [line for line in unreachable.stdout.splitlines() if line.split()[1] == "slack"]
    assert unreachable_line.startswith("FAIL") and f"cannot reach {unreachable_url}" in unreachable_line
    assert refused.returncode == unreachable.returncode == 1


async def test_doctor_waits_for_slack_no_longer_than_slack_timeout_seconds_and_says_so(tmp_path):
    # A Slack (or proxy) that never answered: doctor waited slack-sdk's own 30 s, whatever
    # SLACK_TIMEOUT_SECONDS said, then printed "FAIL  slack      TimeoutError: " and nothing else.
    async def never_answer(reader, writer):
        await reader.read()  # until the client gives up and closes

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    silent_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/"
    async with server:
        doctor = await asyncio.to_thread(
            run,
            ["doctor"],
            tmp_path,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=silent_url,
            SLACK_TIMEOUT_SECONDS="0.5",
            DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        )
    (line,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "slack"]
    assert line.startswith("FAIL") and f"{silent_url} did not answer within SLACK_TIMEOUT_SECONDS (0.5 s)" in line
    assert doctor.returncode == 1


async def test_doctor_names_the_scopes_an_older_install_lacks(tmp_path):
    slack = FakeSlack()
    slack.scopes -= {"channels:history", "groups:history"}  # installed from an older manifest.yml
    env = dict(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    async with serve(slack.app) as slack_url:
        result = await asyncio.to_thread(run, ["doctor"], tmp_path, SLACK_API_URL=slack_url + "/api/", **env)
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "scopes"]
    assert line.startswith("FAIL") and "lacks channels:history, groups:history" in line and "reinstall" in line
    assert result.returncode == 1


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than 127.x, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_sandbox_mode_serves_health_and_the_fake_vendors(tmp_path):
    slack = FakeSlack()
    async with serve(slack.app) as slack_url:
        slack.base_url = slack_url
        port = free_port()
        bot = BotProcess(
            env=clean_env(
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=slack_url + "/api/",
                BOT_SECRET_KEY=Fernet.generate_key().decode(),
            ),
            port=port,
            workdir=tmp_path,
            args=("--sandbox",),
        )
        await bot.start()
        try:
            async with httpx.AsyncClient() as client:
                me = await client.get(bot.url + "/sandbox/sparkhire/v1.0/me", auth=("sandbox", ""))
                assert me.status_code == 200 and me.json()["company"]["name"] == "Shermer Staffing"
            from bot.sparkhire.client import SparkHireClient

            async with SparkHireClient(api_key="sandbox", base_url=bot.url + "/sandbox/sparkhire/v1.0") as spark:
                assert [s.name for s in await spark.list_question_sets()] == ["Basics"]
            sender = SlackSender(bot.url)
            await sender.command("find ann@example.com", response_url=slack.response_url("f"))
            found = await slack.wait_for(
                lambda: [r for r in slack.responses.get("f", []) if "interview(s)" in str(r)], timeout=10
            )
            assert "Ann Lee" in str(found[-1])
            await sender.aclose()
            # The sandboxes take any key: from another machine they are not there at all.
            if (address := non_loopback_address()) is not None:
                async with httpx.AsyncClient() as client:
                    outside = f"http://{address}:{port}"
                    assert (await client.get(outside + "/healthz")).status_code == 200
                    for path in ("/sandbox/sparkhire/v1.0/me", "/sandbox/wedgehr/connect/v2/interviews"):
                        assert (await client.get(outside + path, auth=("sandbox", ""))).status_code == 404
            # Nor through a tunnel on this machine, which connects from loopback.
            async with httpx.AsyncClient() as client:
                tunnelled = await client.get(
                    bot.url + "/sandbox/sparkhire/v1.0/me",
                    auth=("sandbox", ""),
                    headers={"X-Forwarded-For": "203.0.113.9"},
                )
                assert tunnelled.status_code == 404
            # An operator's first look: a healthy start logs no warning (Bolt once warned of an unused token).
            assert " WARNING " not in bot.log.read_text(), bot.log.read_text()
        finally:
            await bot.stop()


async def test_vendors_on_this_machine_are_not_asked_through_a_proxy_of_the_environment(monkeypatch):
    # A laptop behind a company proxy (HTTP_PROXY, no NO_PROXY) running --sandbox: the bot asked the
    # proxy for the fake vendors on 127.0.0.1, which it cannot reach, and every call failed.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    async with running_bot() as bot:
        assert [s.name for s in await bot.services.sparkhire("sandbox").list_question_sets()] == ["Basics"]
        assert await bot.services.wedgehr(WEDGEHR_TOKEN).verify()
        async with SparkHireClient(api_key="sandbox", base_url=bot.services.sparkhire_url) as own:
            assert [s.name for s in await own.list_question_sets()] == ["Basics"]


def test_doctor_on_postgresql_without_bot_secret_key_says_to_set_it_and_reports_each_check(tmp_path):
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere?sslmode=disable"
    result = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", DATABASE_URL=unreachable, DATABASE_TIMEOUT_SECONDS="2")
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["key"].startswith("warn") and "PostgreSQL" in lines["key"] and "set it" in lines["key"]
    assert lines["database"].startswith("FAIL") and "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 1


def test_doctor_in_oauth_mode_says_when_env_vendor_keys_serve_every_workspace(tmp_path):
    oauth = dict(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="c", SLACK_SIGNING_SECRET="s", WEDGEHR_TOKEN="w-0123")
    unreachable = {
        "WEDGEHR_API_URL": f"http://127.0.0.1:{free_port()}",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/",
    }
    result = run(["doctor"], tmp_path, **oauth, **unreachable)
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["vendors"].startswith("warn") and "VENDOR_KEYS_TEAM_IDS" in lines["vendors"]
    # The operator is told which setting to look at, not "the API URL setting".
    assert lines["wedgehr"].startswith("FAIL") and f"cannot reach {unreachable['WEDGEHR_API_URL']}" in lines["wedgehr"]
    assert lines["wedgehr"].endswith("check this machine's network, or WEDGEHR_API_URL (or WEDGEHR_ENV)")
    result = run(["doctor"], tmp_path, **oauth, **unreachable, VENDOR_KEYS_TEAM_IDS="T0001")
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["vendors"].startswith("ok") and "T0001" in lines["vendors"]


def not_logged(stderr: str) -> list[str]:
    """The lines of stderr that are not log records: what the bot says to the operator itself."""
    return [line for line in stderr.splitlines() if line.strip() and not re.match(r"\d{4}-\d\d-\d\d ", line)]


@pytest.mark.parametrize(
    ("database_url", "exit_code", "says"),
    [
        ("postgresql://bot:hunter2-secret@127.0.0.1:{free}/bot", 1, "Cannot reach the database at DATABASE_URL"),
        ("postgresql://bot:hunter2-secret@127.0.0.1:abc/bot", 2, "Setting DATABASE_URL: not a database URL"),
        ("sqlite:///{tmp}/no-such-directory/bot.sqlite3", 2, "Setting DATABASE_URL: sqlite:///"),
        # Refused by asyncpg before it connects (the URL's options pass Settings): was "Cannot reach", exit 1.
        (
            "postgresql://bot:hunter2-secret@127.0.0.1:{free}/bot?direct_tls=true&sslmode=disable",
            2,
            "Setting DATABASE_URL: postgresql://bot:***@127.0.0.1",
        ),
    ],
    ids=["refused", "port-not-a-number", "sqlite-directory-missing", "option-asyncpg-refuses"],
)
def test_a_database_that_cannot_be_opened_at_start_is_one_line_naming_database_url(
    tmp_path, database_url, exit_code, says
):
    url = database_url.format(free=free_port(), tmp=tmp_path)
    result = run(
        [],
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=url,
        PORT=str(free_port()),
    )
    assert result.returncode == exit_code, result.stderr
    (line,) = not_logged(result.stderr)
    assert says in line and "DATABASE_URL" in line
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_a_port_another_process_listens_on_is_one_line_naming_port(tmp_path):
    # It was asyncio's traceback ("error while attempting to bind on address").
    with socket.create_server(("0.0.0.0", 0)) as taken:
        port = taken.getsockname()[1]
        result = run([], tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(port))
    assert result.returncode == 1, result.stderr
    (line,) = not_logged(result.stderr)
    assert line.startswith(f"Cannot listen on PORT {port}: another process is using it")
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr


def test_a_port_below_1024_without_privileges_says_to_use_another():
    from bot.server import port_unavailable

    failure = port_unavailable(80, PermissionError(errno.EACCES, "Permission denied"))
    assert failure.exit_code == 2 and str(failure).startswith("Setting PORT: 80 needs privileges")


def test_a_database_host_that_does_not_resolve_is_named_at_start_migrate_and_doctor(tmp_path):
    # It read "the database refused it (gaierror: [Errno -2] Name or service not known)".
    url = "postgresql://bot:hunter2-secret@no-such-host.invalid/bot"
    env = dict(DATABASE_URL=url, BOT_SECRET_KEY=Fernet.generate_key().decode(), PORT=str(free_port()))
    started = run([], tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, **env)
    migrated = run(["migrate"], tmp_path, **env)
    for result in (started, migrated):
        (line,) = not_logged(result.stderr)
        assert "the host name no-such-host.invalid could not be resolved" in line and "refused" not in line
        # DNS said there is no such host: the setting is wrong (2). A resolver that did not answer
        # (no DNS on this machine) is an outage (1).
        assert line.startswith("Setting DATABASE_URL:" if result.returncode == 2 else "Cannot reach the database")
        assert result.returncode in (1, 2) and "hunter2-secret" not in result.stdout + result.stderr
    doctor = run(["doctor"], tmp_path, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/", **env)
    (database,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "database"]
    assert database.startswith("FAIL") and "no-such-host.invalid could not be resolved" in database


@pytest.mark.parametrize(
    ("errno", "exit_code", "says"),
    [
        (socket.EAI_NONAME, 2, "Setting DATABASE_URL: postgresql://bot@db.example.invalid/bot: the host name"),
        (socket.EAI_AGAIN, 1, "Cannot reach the database at DATABASE_URL postgresql://bot@db.example.invalid/bot"),
    ],
    ids=["no-such-host", "dns-did-not-answer"],
)
def test_a_host_name_that_does_not_resolve_is_a_wrong_setting_only_when_dns_says_so(errno, exit_code, says):
    from bot.settings import Settings
    from bot.storage.errors import database_start_failure

    settings = Settings(database_url="postgresql://bot@db.example.invalid/bot")
    failure = database_start_failure(settings, socket.gaierror(errno, "the resolver's message"))
    assert failure is not None and failure.exit_code == exit_code
    assert str(failure).startswith(says) and "db.example.invalid could not be resolved" in str(failure)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_a_postgresql_database_that_does_not_exist_is_named_at_start_and_by_doctor(tmp_path):
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + "/no_such_database_here"
    env = dict(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, DATABASE_URL=url, PORT=str(free_port()))
    started = run([], tmp_path, BOT_SECRET_KEY=Fernet.generate_key().decode(), **env)
    assert started.returncode == 2, started.stderr
    (line,) = not_logged(started.stderr)
    assert line.startswith("Setting DATABASE_URL:") and 'database "no_such_database_here" does not exist' in line
    assert "python -m bot doctor" in line and "Unclosed" not in started.stderr

    doctor = run(["doctor"], tmp_path, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/", **env)
    (database,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "database"]
    assert database.startswith("FAIL") and "does not exist" in database and "DATABASE_URL" in database
    assert "Background on this error" not in doctor.stdout  # each check one line


def test_a_missing_sqlite_directory_is_named_by_migrate_and_doctor_as_at_start(tmp_path):
    # They said "unable to open database file", and migrate exited 1 as for an outage.
    unreachable = f"sqlite:///{tmp_path}/no-such-directory/bot.sqlite3"
    says = f"Setting DATABASE_URL: {unreachable}: the directory {tmp_path}/no-such-directory does not exist"
    result = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", DATABASE_URL=unreachable)
    lines = result.stdout.splitlines()
    (database,) = [line for line in lines if line.split()[1] == "database"]
    assert database.startswith("FAIL") and says in database
    assert all(line.split()[0] in {"ok", "FAIL", "skip", "warn"} for line in lines), result.stdout
    migrated = run(["migrate"], tmp_path, DATABASE_URL=unreachable)
    assert migrated.returncode == 2 and migrated.stdout == ""
    (line,) = not_logged(migrated.stderr)
    assert line.startswith(says) and "python -m bot doctor" in line
    assert migrated.stderr == line + "\n"  # nothing else: no log record, no traceback


#: Root writes everywhere: without these capabilities it follows the files' modes, as another user does.
DAC_CAPABILITIES = "-dac_override,-dac_read_search,-fowner"


@pytest.fixture
def unwritable_dir():
    """A directory `python -m bot` run through ``run_unprivileged`` may read but not write.

    Outside ``tmp_path``: a fixture's own directory, made read-only.
    """
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root, without setpriv (util-linux) to run the bot without root's file access")
    path = Path(tempfile.mkdtemp(prefix="bot-unwritable-"))
    path.chmod(0o555)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


def run_unprivileged(args, cwd, **env):
    """``run``, but as root without the capabilities that let root write where a file's mode says not to."""
    drop = ["setpriv", "--bounding-set", DAC_CAPABILITIES, "--inh-caps", DAC_CAPABILITIES] if os.geteuid() == 0 else []
    return subprocess.run(
        [*drop, sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("existing", [None, "writable", "read-only"], ids=["new-file", "writable-file", "read-only"])
def test_a_sqlite_file_the_bot_cannot_write_is_named_at_start_by_migrate_and_doctor(unwritable_dir, existing):
    # It was "Cannot reach the database ... (unable to open database file)", exit 1 as for an outage
    # that a restart may get through, and doctor said the start would make the file.
    file = unwritable_dir / "bot.sqlite3"
    if existing:
        sqlite3.connect(file).close()
        file.chmod(0o666 if existing == "writable" else 0o444)
    url = f"sqlite:///{file}"
    env = dict(DATABASE_URL=url, BOT_SECRET_KEY=Fernet.generate_key().decode())
    slack = dict(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(free_port()))
    says = f"Setting DATABASE_URL: {url}: this process cannot write"
    for command in ([], ["migrate"]):
        result = run_unprivileged(command, "/", **env, **slack)
        assert result.returncode == 2, result.stderr
        (line,) = not_logged(result.stderr)
        assert line.startswith(says) and str(unwritable_dir) in line, line
        assert "Traceback" not in result.stderr
    doctor = run_unprivileged(["doctor"], "/", SLACK_API_URL=f"http://127.0.0.1:{free_port()}/", **env, **slack)
    (database,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "database"]
    assert database.startswith("FAIL") and says in database, doctor.stdout
    assert doctor.returncode == 1


@pytest.mark.parametrize("key_file", [None, "unreadable"], ids=["cannot-make-it", "cannot-read-it"])
def test_a_development_key_the_bot_cannot_write_or_read_is_one_line_saying_to_set_bot_secret_key(
    unwritable_dir, tmp_path, key_file
):
    # Started from a directory it cannot write (an image's app directory owned by root), without
    # BOT_SECRET_KEY: it was a PermissionError traceback.
    if key_file:
        (unwritable_dir / ".interview-bot-secret-key").write_bytes(Fernet.generate_key())
        (unwritable_dir / ".interview-bot-secret-key").chmod(0)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
    }
    result = run_unprivileged([], unwritable_dir, PORT=str(free_port()), **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = not_logged(result.stderr)
    doing = "read" if key_file else "write"
    assert line.startswith(f"Setting BOT_SECRET_KEY: not set, and this process cannot {doing} the development key")
    assert str(unwritable_dir / ".interview-bot-secret-key") in line and "Fernet.generate_key()" in line
    # doctor, run where the start would be, says the same instead of "a development key is kept in …".
    doctor = run_unprivileged(["doctor"], unwritable_dir, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/", **env)
    (key,) = [out for out in doctor.stdout.splitlines() if out.split()[1] == "key"]
    assert key.startswith("FAIL") and line in key, doctor.stdout
    assert doctor.returncode == 1


def test_a_sqlite_url_naming_a_directory_is_named_at_start(tmp_path):
    result = run(
        [],
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PORT=str(free_port()),
        DATABASE_URL=f"sqlite:///{tmp_path}",
    )
    assert result.returncode == 2, result.stderr
    (line,) = not_logged(result.stderr)
    assert line.startswith(f"Setting DATABASE_URL: sqlite:///{tmp_path}: {tmp_path} is a directory")


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"DATABASE_URL": "sqlite:///"}, "Setting DATABASE_URL: names no file: an in-memory SQLite database"),
        ({"DATABASE_URL": "sqlite://"}, "Setting DATABASE_URL: names no file"),
        ({"PUBLIC_URL": "bot.example.com"}, "Setting PUBLIC_URL: 'bot.example.com' is not an absolute URL"),
        ({"PUBLIC_URL": "https://"}, "Setting PUBLIC_URL:"),
        # Slack's Request URL pasted whole: Spark Hire's webhook went under it, where every event got 404.
        (
            {"PUBLIC_URL": "https://bot.example.com/slack/events"},
            "Setting PUBLIC_URL: https://bot.example.com/slack/events is one of the bot's own addresses, not its "
            "base: give the address it is served at, without /slack/events, as in https://bot.example.com",
        ),
        # The install link and Spark Hire's webhook were built after it: …/?ref=x/slack/install.
        (
            {"PUBLIC_URL": "https://bot.example.com/?ref=slack"},
            "Setting PUBLIC_URL: https://bot.example.com/?ref=slack has a query (?…) or a fragment (#…): give "
            "the bot's base address alone, as in https://bot.example.com",
        ),
        ({"PUBLIC_URL": "https://bot.example.com/bot#top"}, "Setting PUBLIC_URL: https://bot.example.com/bot#top has"),
        (
            {"PUBLIC_URL": "https://admin:hunter2-secret@bot.example.com"},
            "Setting PUBLIC_URL: https://***@bot.example.com has a user or password in it: give the bot's "
            "public address without them, as in https://bot.example.com",
        ),
        ({"SLACK_CLIENT_ID": "1111.2222"}, "Setting SLACK_CLIENT_SECRET: not set, but SLACK_CLIENT_ID is"),
        # Each was used as given: every Slack call, or every vendor call, failed on a relative URL.
        (
            {"SLACK_API_URL": "slack.com/api"},
            "Setting SLACK_API_URL: 'slack.com/api' is not an absolute URL: give Slack's Web API address with its "
            "scheme, as in https://slack.com/api/",
        ),
        (
            {"WEDGEHR_API_URL": "api.wedgehr.com/connect/v2"},
            "Setting WEDGEHR_API_URL: 'api.wedgehr.com/connect/v2' is not an absolute URL",
        ),
        ({"SPARKHIRE_API_URL": "ftp://api.sparkhire.com"}, "Setting SPARKHIRE_API_URL: 'ftp://api.sparkhire.com' is"),
    ],
    ids=[
        "sqlite-in-memory",
        "sqlite-no-path",
        "public-url-no-scheme",
        "public-url-no-host",
        "public-url-slack-request-url",
        "public-url-query",
        "public-url-fragment",
        "public-url-user-and-password",
        "client-id-alone",
        "slack-api-url-no-scheme",
        "wedgehr-api-url-no-scheme",
        "sparkhire-api-url-not-http",
    ],
)
def test_a_setting_that_cannot_work_is_refused_in_one_line_at_start_and_by_doctor(tmp_path, setting, says):
    for command in ([], ["doctor"]):
        result = run(command, tmp_path, SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", **setting)
        assert result.returncode == 2, result.stderr
        (line,) = not_logged(result.stderr)
        assert line.startswith(says)
        assert result.stdout == "" and "hunter2-secret" not in result.stderr


async def test_doctor_checks_the_app_token_socket_mode_needs(tmp_path):
    slack = FakeSlack()
    env = dict(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    async with serve(slack.app) as slack_url:
        slack.base_url = slack_url
        results = {
            token: await asyncio.to_thread(
                run, ["doctor"], tmp_path, SLACK_APP_TOKEN=token, SLACK_API_URL=slack_url + "/api/", **env
            )
            for token in (APP_TOKEN, "xapp-1-A1-revoked-0123456789", BOT_TOKEN)
        }
    lines = {token: {line.split()[1]: line for line in r.stdout.splitlines()} for token, r in results.items()}
    assert lines[APP_TOKEN]["socket"].startswith("ok") and results[APP_TOKEN].returncode == 0
    refused = lines["xapp-1-A1-revoked-0123456789"]["socket"]
    assert refused.startswith("FAIL") and "Slack refused SLACK_APP_TOKEN (invalid_auth)" in refused
    # Not of the kind at all: a setting wrong on its face, as `python -m bot` refuses it; Slack is not asked.
    wrong_kind = lines[BOT_TOKEN]
    assert wrong_kind["config"].startswith("FAIL") and "not an app-level token (xapp-...)" in wrong_kind["config"]
    assert wrong_kind["socket"].startswith("skip")
    assert all(r.returncode == 1 for t, r in results.items() if t != APP_TOKEN)
    assert not any(token in r.stdout + r.stderr for token, r in results.items() if token != BOT_TOKEN)


def test_doctor_in_oauth_mode_gives_the_install_link_or_says_public_url_is_needed_for_it(tmp_path):
    oauth = dict(SLACK_CLIENT_ID="1.2", SLACK_CLIENT_SECRET="c", SLACK_SIGNING_SECRET="s")
    unreachable = {"SLACK_API_URL": f"http://127.0.0.1:{free_port()}/"}
    result = run(["doctor"], tmp_path, **oauth, **unreachable, PUBLIC_URL="https://bot.example.com")
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "public"]
    assert line.startswith("ok") and "install at https://bot.example.com/slack/install" in line
    result = run(["doctor"], tmp_path, **oauth, **unreachable)
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "public"]
    assert "PUBLIC_URL not set" in line and "install link" in line


def test_doctor_warns_when_public_url_is_not_https(tmp_path):
    result = run(["doctor"], tmp_path, SLACK_SIGNING_SECRET="s", PUBLIC_URL="http://bot.example.com/")
    (line,) = [line for line in result.stdout.splitlines() if line.split()[1] == "public"]
    assert line.startswith("warn") and "http://bot.example.com is not https" in line


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-1111-2222-tokensecret"}, "Setting SLACK_BOT_TOKEN: this is a user token (xoxp-...)"),
        (
            {"SLACK_BOT_TOKEN": "xapp-1-A1-tokensecret"},
            "Setting SLACK_BOT_TOKEN: this is an app-level token (xapp-...), not a bot token (xoxb-...)",
        ),
        ({"SLACK_BOT_TOKEN": '"xoxb-1-tokensecret"'}, "Setting SLACK_BOT_TOKEN: has spaces or quotes in it"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-tokensecret "}, "Setting SLACK_BOT_TOKEN: has spaces or quotes in it"),
        ({"SLACK_BOT_TOKEN": "tokensecret"}, "Setting SLACK_BOT_TOKEN: not a bot token (xoxb-...): copy the Bot User"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxp-1-tokensecret"},
            "Setting SLACK_APP_TOKEN: this is a user token (xoxp-...), not an app-level token (xapp-...)",
        ),
    ],
    ids=["user-token", "app-token", "quoted", "trailing-space", "not-a-slack-token", "app-token-setting"],
)
def test_a_slack_token_of_the_wrong_kind_is_refused_at_start_and_a_failed_config_check_in_doctor(
    tmp_path, setting, says
):
    # The bot started with it and every Slack call failed (invalid_auth, not_allowed_token_type).
    env = dict(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/",  # doctor must not need Slack to tell
        **setting,
    )
    started = run([], tmp_path, PORT=str(free_port()), **env)
    assert started.returncode == 2 and started.stdout == ""
    (line,) = not_logged(started.stderr)
    assert line.startswith(says), line
    doctor = run(["doctor"], tmp_path, **env)
    lines = {line.split()[1]: line for line in doctor.stdout.splitlines()}
    assert lines["config"].startswith("FAIL") and line in lines["config"]
    tested = "socket" if "SLACK_APP_TOKEN" in setting else "slack"
    assert lines[tested].startswith("skip") and "see config" in lines[tested]
    assert doctor.returncode == 1 and doctor.stderr == ""
    for result in (started, doctor):
        assert "tokensecret" not in result.stdout + result.stderr  # at most the token's prefix


def test_a_signing_secret_pasted_with_quotes_or_spaces_is_refused_at_start_and_by_doctor(tmp_path):
    # The bot started with it and answered every request from Slack 401 (nothing verifies against it):
    # the operator saw only Slack's "dispatch_failed".
    env = dict(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET='"0123456789abcdefsecret" ',  # as a .env line's value was pasted
        DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
        BOT_SECRET_KEY=Fernet.generate_key().decode(),
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/",
    )
    started = run([], tmp_path, PORT=str(free_port()), **env)
    assert started.returncode == 2 and started.stdout == ""
    (line,) = not_logged(started.stderr)
    assert line == "Setting SLACK_SIGNING_SECRET: has spaces or quotes in it: set the secret alone, without them"
    doctor = run(["doctor"], tmp_path, **env)
    config = next(line for line in doctor.stdout.splitlines() if line.split()[1] == "config")
    assert config.startswith("FAIL") and line in config and doctor.returncode == 1
    for result in (started, doctor):
        assert "0123456789abcdefsecret" not in result.stdout + result.stderr


def test_a_bot_token_with_token_rotation_on_is_a_bot_token(tmp_path):
    from bot.settings import Settings

    assert Settings(slack_bot_token="xoxe.xoxb-1-rotating").slack_token_problems() == {}


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        (
            dict(SLACK_CLIENT_ID="1111.2222", SLACK_CLIENT_SECRET="client-secret", SLACK_BOT_TOKEN=BOT_TOKEN),
            "SLACK_BOT_TOKEN is set but not used: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET run the bot for many "
            "workspaces (OAuth), each with the token of its install at PUBLIC_URL/slack/install",
        ),
        (
            dict(
                SLACK_APP_TOKEN=APP_TOKEN,
                SLACK_BOT_TOKEN=BOT_TOKEN,
                SLACK_CLIENT_ID="1111.2222",
                SLACK_CLIENT_SECRET="client-secret",
            ),
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but not used: SLACK_APP_TOKEN runs the bot in Socket "
            "Mode, for the one workspace of SLACK_BOT_TOKEN",
        ),
    ],
    ids=["oauth-and-bot-token", "socket-mode-and-oauth"],
)
async def test_slack_settings_the_chosen_way_of_running_ignores_are_said_at_start_and_by_doctor(
    tmp_path, setting, says
):
    # Moving a one-workspace bot to OAuth, the operator kept SLACK_BOT_TOKEN: the bot no longer used
    # it (its workspace was "not installed" until it installed through /slack/install), the start
    # said only Bolt's "As you gave `client` as well, `token` will be unused", and doctor checked
    # the token as if it were used ("auth.test ok").
    slack = FakeSlack()
    async with serve(slack.app) as slack_url:
        slack.base_url = slack_url
        env = dict(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_url + "/api/", **setting)
        doctor = await asyncio.to_thread(run, ["doctor"], tmp_path, **env)
        bot = BotProcess(env=clean_env(**env), port=free_port(), workdir=tmp_path)
        await bot.start()
        await bot.stop()
    (unused,) = [line for line in doctor.stdout.splitlines() if line.split()[1] == "unused"]
    assert unused.startswith("warn") and says in unused, doctor.stdout
    if "SLACK_CLIENT_ID" not in says:
        assert "auth.test ok" not in doctor.stdout
    log = bot.log.read_text()
    assert says in log and "will be unused" not in log


async def test_doctor_and_migrate_print_only_what_they_found_and_did_and_the_start_still_warns(tmp_path):
    # Both printed the start's BOT_SECRET_KEY warnings and a log line per migration before their own output.
    env = dict(SLACK_SIGNING_SECRET=SIGNING_SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/d.db")
    migrated = await asyncio.to_thread(run, ["migrate"], tmp_path, **env)
    again = await asyncio.to_thread(run, ["migrate"], tmp_path, **env)
    assert migrated.returncode == again.returncode == 0 and migrated.stderr == again.stderr == ""
    (did,) = migrated.stdout.splitlines()
    assert did.startswith("Applied database migrations 1 to ") and "the schema is up to date" in did
    (nothing,) = again.stdout.splitlines()
    assert "up to date" in nothing and "nothing to apply" in nothing
    doctor = await asyncio.to_thread(run, ["doctor"], tmp_path, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/", **env)
    assert doctor.stderr == ""
    assert all(line.split()[0] in {"ok", "FAIL", "skip", "warn"} for line in doctor.stdout.splitlines())
    key = [line for line in doctor.stdout.splitlines() if line.split()[1] == "key"]
    assert key and "BOT_SECRET_KEY not set" in key[0]  # said once, as a check
    postgresql = f"postgresql://bot@127.0.0.1:{free_port()}/bot"
    on_postgresql = await asyncio.to_thread(run, ["doctor"], tmp_path, **{**env, "DATABASE_URL": postgresql})
    assert on_postgresql.stderr == "" and "warn  key" in on_postgresql.stdout

    # The server's start still warns: migrate and doctor left the development key for it to make.
    slack = FakeSlack()
    async with serve(slack.app) as slack_url:
        bot = BotProcess(
            env=clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack_url + "/api/", **env),
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        await bot.stop()
    assert "BOT_SECRET_KEY is not set: generated a development key" in bot.log.read_text()


@pytest.mark.parametrize(
    ("setting", "names", "not_named"),
    [
        (
            {
                "SLACK_CLIENT_ID": "1111.2222",
                "SLACK_CLIENT_SECRET": "client-secret",
                "PUBLIC_URL": "https://bot.example",
            },
            [
                "Missing: SLACK_SIGNING_SECRET",
                "SLACK_SIGNING_SECRET  Basic Information",
                "https://bot.example/slack/install",
            ],
            ["SLACK_BOT_TOKEN", "xoxb"],
        ),
        (
            {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secret"},
            ["Missing: SLACK_SIGNING_SECRET", "installs the app at PUBLIC_URL/slack/install"],
            ["SLACK_BOT_TOKEN", "xoxb"],
        ),
        (
            {"SLACK_APP_TOKEN": APP_TOKEN},
            ["Missing: SLACK_BOT_TOKEN", "Socket Mode (SLACK_APP_TOKEN is set)", "SLACK_BOT_TOKEN       the Bot User"],
            ["SLACK_CLIENT_ID", "SLACK_SIGNING_SECRET"],
        ),
        (
            {},
            ["Missing: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN (xapp-", "SLACK_CLIENT_ID + "],
            [],
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRT": "typed-under-another-name"},
            [
                "Missing: SLACK_SIGNING_SECRET",
                "SLACK_SIGNING_SECRT is not a setting, so it is ignored: did you mean SLACK_SIGNING_SECRET?",
            ],
            ["typed-under-another-name"],
        ),
    ],
    ids=["oauth", "oauth-without-public-url", "socket-mode", "nothing-set", "mistyped"],
)
def test_the_start_guide_names_what_the_chosen_way_of_running_needs(tmp_path, setting, names, not_named):
    # In OAuth mode it told the operator to set SLACK_BOT_TOKEN, which OAuth does not use.
    result = run([], tmp_path, **setting)
    assert result.returncode == 2 and "manifest.yml" in result.stderr
    for text in names:
        assert text in result.stderr, result.stderr
    for text in not_named:
        assert text not in result.stderr, result.stderr


async def test_doctor_takes_vendor_keys_set_empty_for_unset_not_for_keys_the_vendors_refuse(tmp_path):
    slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(), SparkHireSandbox()
    async with AsyncExitStack() as stack:
        slack_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        env = dict(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_url + "/api/",
            WEDGEHR_API_URL=wedgehr_url,
            WEDGEHR_TOKEN="",  # left empty in the platform's form: unset, as the README says
            SPARKHIRE_API_URL=sparkhire_url,
            SPARKHIRE_API_KEY="",
            DATABASE_URL=f"sqlite:///{tmp_path}/d.db",
            BOT_SECRET_KEY=Fernet.generate_key().decode(),
        )
        assert (await asyncio.to_thread(run, ["migrate"], tmp_path, **env)).returncode == 0
        result = await asyncio.to_thread(run, ["doctor"], tmp_path, **env)
    lines = {line.split()[1]: line for line in result.stdout.splitlines()}
    assert lines["wedgehr"].split()[0] == "skip" and "WEDGEHR_TOKEN not set" in lines["wedgehr"], result.stdout
    assert lines["sparkhire"].split()[0] == "skip" and "SPARKHIRE_API_KEY not set" in lines["sparkhire"]
    assert result.returncode == 0, result.stdout
