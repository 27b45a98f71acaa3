import asyncio

from aiohttp import web
from cryptography.fernet import Fernet

from bot.crypto import SecretBox
from bot.services import ENV_CONNECTED_BY, Services
from bot.settings import Settings
from bot.storage import Database, schema
from tests.support.databases import statements_on


async def test_first_requests_of_a_team_store_the_env_token_once(tmp_path):
    settings = Settings(slack_bot_token="xoxb-1", slack_signing_secret="s", wedgehr_token="env-wedge-token")
    box = SecretBox(Fernet.generate_key())
    db = Database(url=f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", secret_box=box)
    await db.migrate()
    inserts = statements_on(db.engine, "INSERT", schema.connections)
    services = Services(settings=settings, db=db, secret_box=box)
    try:
        # A new workspace's first burst of /interview commands, with WEDGEHR_TOKEN set by the operator.
        found = await asyncio.gather(*(services.resolve_connection("T1", "wedgehr", f"U{n}") for n in range(20)))
        assert {c.id for c in found} == {found[0].id}
        assert found[0].credential.get_secret_value() == "env-wedge-token"
        assert found[0].connected_by == ENV_CONNECTED_BY
        assert len(inserts) == 1
        assert [c.id for c in await db.connections.list_for_team("T1")] == [found[0].id]
    finally:
        await services.aclose()


async def test_connections_copied_from_the_environment_follow_it_across_restarts(tmp_path):
    # What an operator does: rotate a key, move WedgeHR to staging, then stop providing the keys.
    from tests.support.harness import running_bot

    same_database = {"database_url": f"sqlite:///{tmp_path}/bot.sqlite3", "secret_key": Fernet.generate_key().decode()}
    first = {"wedgehr_token": "wedge-old-0123456789", "sparkhire_api_key": "spark-old-0123456789"}
    async with running_bot(**same_database, env_credentials=False, wedgehr_api_url=None, **first) as bot:
        wedgehr = await bot.services.resolve_connection("T0001", "wedgehr")
        assert wedgehr.credential.get_secret_value() == "wedge-old-0123456789"
        await bot.services.resolve_connection("T0001", "sparkhire")
    rotated = {"wedgehr_token": "wedge-new-0123456789", "sparkhire_api_key": "spark-new-0123456789"}
    async with running_bot(
        **same_database, env_credentials=False, wedgehr_api_url=None, wedgehr_env="staging", **rotated
    ) as bot:
        wedgehr = await bot.services.resolve_connection("T0001", "wedgehr")
        sparkhire = await bot.services.resolve_connection("T0001", "sparkhire")
        assert wedgehr.credential.get_secret_value() == "wedge-new-0123456789"
        assert sparkhire.credential.get_secret_value() == "spark-new-0123456789"
        assert "wedgebeta.com" in str(bot.services.client_for(wedgehr).base_url)  # staging
    # One process started without the variables (a bad deploy, a local run on the shared database)
    # must not cut the workspace off: its subscriptions and webhook name the connection's id.
    async with running_bot(**same_database, env_credentials=False) as bot:
        kept = await bot.services.resolve_connection("T0001", "sparkhire")
        assert (kept.id, kept.credential.get_secret_value()) == (sparkhire.id, "spark-new-0123456789")


async def test_a_copy_saved_under_another_bot_secret_key_takes_the_environments_value(tmp_path):
    # Operators moving from the generated development key to BOT_SECRET_KEY: the bot still starts.
    from tests.support.harness import running_bot

    database = {"database_url": f"sqlite:///{tmp_path}/bot.sqlite3", "env_credentials": False}
    async with running_bot(
        **database, secret_key=Fernet.generate_key().decode(), sparkhire_api_key="spark-0123456789"
    ) as bot:
        before = await bot.services.resolve_connection("T0001", "sparkhire")
    async with running_bot(
        **database, secret_key=Fernet.generate_key().decode(), sparkhire_api_key="spark-0123456789"
    ) as bot:
        after = await bot.services.resolve_connection("T0001", "sparkhire")
        assert (after.id, after.credential.get_secret_value()) == (before.id, "spark-0123456789")


async def test_a_real_run_after_a_sandbox_run_sends_the_real_key_not_sandbox(tmp_path):
    from bot.app import SERVICES_KEY, create_web_app

    base = {
        "slack_bot_token": "xoxb-1",
        "slack_signing_secret": "s" * 20,
        "database_url": f"sqlite:///{tmp_path}/bot.sqlite3",
        "bot_secret_key": Fernet.generate_key().decode(),
    }

    async def resolved_key(settings: Settings, **kwargs) -> str:
        web_app = create_web_app(settings, start_workers=False, **kwargs)
        runner = web.AppRunner(web_app)
        await runner.setup()  # the lifecycle: migrate, then follow the environment
        try:
            connection = await web_app[SERVICES_KEY].resolve_connection("T0001", "sparkhire")
            return connection.credential.get_secret_value()
        finally:
            await runner.cleanup()

    assert await resolved_key(Settings(**base), sandbox=True) == "sandbox"
    assert await resolved_key(Settings(**base, sparkhire_api_key="real-key-0123456789")) == "real-key-0123456789"


async def test_a_vendor_key_set_empty_in_the_environment_is_unset_not_an_empty_key(tmp_path, monkeypatch):
    # As README says: `SPARKHIRE_API_KEY=` in the environment (a platform's form left empty) is unset.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SPARKHIRE_API_KEY", "")
    monkeypatch.setenv("WEDGEHR_TOKEN", "")
    settings = Settings()
    box = SecretBox(Fernet.generate_key())
    db = Database(url=f"sqlite+aiosqlite:///{tmp_path}/bot.sqlite3", secret_box=box)
    await db.migrate()
    services = Services(settings=settings, db=db, secret_box=box)
    try:
        # Not connected (the commands then say to connect), rather than an empty key every call refuses.
        assert await services.resolve_connection("T1", "sparkhire", "U1") is None
        assert await services.resolve_connection("T1", "wedgehr", "U1") is None
        assert services.environment_credential("T1", "sparkhire") is None
        assert await db.connections.list_for_team("T1") == []
    finally:
        await services.aclose()
