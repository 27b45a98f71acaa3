"""`/interview find <email>` (more in tests/handlers/test_lookup.py)."""


async def test_find_with_a_name_says_it_looks_up_by_email_address_and_asks_no_vendor(bot):
    response = await bot.sender.command("find Ann Lee", response_url=bot.slack.response_url("f"))
    said = response.json()
    # Was only "Tell me whose interviews to find": the recruiter did, by name, and was not told why not.
    assert said["response_type"] == "ephemeral"
    assert said["text"].startswith("I look candidates up by email address, and “Ann Lee” is not one")
    assert "`/interview find ann@example.com`" in said["text"]
    assert not bot.wedgehr.requests and not bot.sparkhire.requests
    # With nothing typed, the plain usage.
    response = await bot.sender.command("find")
    assert response.json()["text"] == "Tell me whose interviews to find: `/interview find ann@example.com`."
