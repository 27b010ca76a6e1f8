"""Counting the event loop's turns: how tests see that long work hands the loop back."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    count = 0


@asynccontextmanager
async def turns_taken() -> AsyncIterator[Turns]:
    """Inside the block, a task that only counts its turns runs beside the work; afterwards
    `count` is how many it got. Work that never yields leaves it at zero (the fakes and the
    embedded store never wait on their own)."""
    turns = Turns()
    done = asyncio.Event()

    async def count_turns() -> None:
        while not done.is_set():
            turns.count += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await asyncio.sleep(0)
    turns.count = 0
    try:
        yield turns
    finally:
        done.set()
        await counter
