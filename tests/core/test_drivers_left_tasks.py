"""An ``async def`` filter on a sync host (WSGI, ISAPI) runs in a loop of its own: tasks it
starts and leaves are cancelled when it is done, as ``asyncio.run`` cancels them, never
destroyed pending (asyncio logs "Task was destroyed but it is pending!" then)."""

from __future__ import annotations

import asyncio
import gc
import logging

from dualfilter import Filter
from dualfilter.testing import make_environ


class FiresAndForgets(Filter):
    def __init__(self, **options):
        super().__init__(**options)
        self.seen: list[str] = []

    async def filter(self, environ, headers, data):
        async def background():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.seen.append("cancelled")
                raise
            finally:
                self.seen.append("finally")

        asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(0)  # the task starts
        return data.upper()


def page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>x</p>"]


def test_a_task_an_async_filter_leaves_is_cancelled_when_it_is_done(caplog):
    flt = FiresAndForgets()
    app = flt.wsgi(page)
    with caplog.at_level(logging.ERROR, "asyncio"):
        for _ in range(3):
            body = b"".join(app(make_environ("GET"), lambda status, headers, exc_info=None: None))
            assert body == b"<P>X</P>"
        gc.collect()
    assert flt.seen == ["cancelled", "finally"] * 3
    assert "destroyed but it is pending" not in caplog.text
