import pytest

from tests.support.harness import running_bot


@pytest.fixture
async def bot():
    async with running_bot() as running:
        yield running
