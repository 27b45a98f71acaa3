import asyncio

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
