import pytest

from tests.support.harness import running_bot


@pytest.fixture
async def bot():
    """The bot with its workers, polling WedgeHR every 0.2 s."""
    async with running_bot(wedgehr_poll_seconds=0.2) as running:
        yield running
