"""Background work: kept referenced, bounded, started only after the answer, dropped when its deadline lapsed."""

import asyncio

from bot.tasks import BackgroundTasks, answered_first


async def test_work_waits_for_the_answer_then_runs():
    tasks, order = BackgroundTasks(), []

    async def work():
        order.append("work")

    with answered_first() as sent:
        task = tasks.spawn(work())
        await asyncio.sleep(0.01)
        order.append("answer")
        sent.set()
    await task
    assert order == ["answer", "work"]


async def test_saturated_tasks_drop_lapsed_work_and_say_so():
    tasks, ran, late = BackgroundTasks(max_running=1), [], []
    release = asyncio.Event()

    async def blocker():
        await release.wait()

    async def modal():
        ran.append("modal")

    async def tell_user():
        late.append("told")

    first = tasks.spawn(blocker())
    lapsed = tasks.spawn(modal(), start_within=0.05, on_late=tell_user)
    await asyncio.sleep(0.1)
    release.set()
    await asyncio.gather(first, lapsed)
    assert ran == [] and late == ["told"]

    in_time = tasks.spawn(modal(), start_within=1.0, on_late=tell_user)
    await in_time
    assert ran == ["modal"] and len(tasks) == 0
