"""Blocking calls from the event loop, run in daemon threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in a daemon thread and await its result.

    Unlike `asyncio.to_thread`, a call stuck on a slow CA does not hold up
    interpreter exit; the store's atomic writes make an abandoned write safe.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = function(*args)
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=target, name=f"enrollment-{function.__name__}", daemon=True).start()
    return await future
