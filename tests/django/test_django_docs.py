"""The samples of docs/django.md run and do what the text says."""

from __future__ import annotations

import gzip
import re
import threading
from pathlib import Path

import pytest
from django.test import AsyncClient, Client
from django.test.utils import override_settings
from django_middleware_project import HERE, LONG_PAGE, project

from dualfilter import Filter
from tests.support.filters import Identity

DOC = Path(__file__).resolve().parents[2] / "docs" / "django.md"
SCRIPT = '<script src="/static/banner.js"></script></body>'


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def sample(marker: str) -> str:
    (found,) = [code for code in samples() if marker in code]
    return found


def test_every_sample_compiles():
    for code in samples():
        compile(code, str(DOC), "exec")


def test_the_settings_sample_filters_pages_with_its_filters_in_order(tmp_path, monkeypatch):
    package = tmp_path / "myproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "filters.py").write_text(sample("class InjectScript"))
    monkeypatch.syspath_prepend(str(tmp_path))
    settings: dict = {}
    exec(compile(sample("DUALFILTER_FILTERS"), str(DOC), "exec"), settings)
    with override_settings(
        ROOT_URLCONF=HERE, MIDDLEWARE=settings["MIDDLEWARE"], DUALFILTER_FILTERS=settings["DUALFILTER_FILTERS"]
    ):
        response = Client().get("/long/", HTTP_ACCEPT_ENCODING="gzip")
    expected = LONG_PAGE.replace("</body>", SCRIPT, 1).replace("hello", "goodbye")
    assert (response["Content-Encoding"], gzip.decompress(response.content).decode()) == ("gzip", expected)


class RecordThread(Filter):
    """Records the thread its (synchronous) filter runs in, and calls what Django allows
    only outside an event loop (the ORM's ``async_unsafe`` guard)."""

    def __init__(self, **options):
        super().__init__(**options)
        self.threads: list[threading.Thread] = []

    def filter(self, environ, headers, data):
        from django.utils.asyncio import async_unsafe

        self.threads.append(threading.current_thread())
        async_unsafe("an ORM query")(lambda: None)()  # SynchronousOnlyOperation on the event loop
        return data.upper()


@pytest.mark.parametrize("threshold", [None, 0])
async def test_under_async_django_a_synchronous_filter_runs_where_django_runs_sync_code(threshold):
    # Django's rule for sync code under ASGI: sync_to_async(thread_sensitive=True), never the loop.
    flt = RecordThread(thread_threshold=threshold)
    with project([flt]):
        response = await AsyncClient().get("/html/")
    assert response.status_code == 200 and response.content == response.content.upper()
    assert flt.threads and flt.threads[0] is not threading.current_thread()


class Guarded(Filter):
    """Asks, in its should_filter_request and should_filter, what Django allows only outside an event loop."""

    def should_filter_request(self, environ):
        from django.utils.asyncio import async_unsafe

        return async_unsafe("an ORM query")(lambda: True)()

    def should_filter(self, environ, status, headers):
        from django.utils.asyncio import async_unsafe

        return async_unsafe("an ORM query")(lambda: True)() and super().should_filter(environ, status, headers)

    def filter(self, environ, headers, data):
        return data.upper()


async def test_under_async_django_the_filters_own_predicates_run_where_django_runs_sync_code():
    with project([Guarded()]):
        response = await AsyncClient().get("/html/")
    assert response.status_code == 200 and response.content == response.content.upper()


async def test_under_async_django_a_chains_predicates_run_where_django_runs_sync_code():
    # A chain's stages decide as the response reaches each of them, inside the machine.
    with project([Guarded(), Identity()]):
        response = await AsyncClient().get("/html/")
    assert response.status_code == 200 and response.content == response.content.upper()


async def test_under_async_django_the_predicates_of_a_page_asked_again_run_where_django_runs_sync_code():
    # The view's 304 for a tag from before the filter: the view is asked again for the page.
    with project([Guarded()]):
        response = await AsyncClient().get("/tagged/", headers={"If-None-Match": '"v1"'})
    assert response.status_code == 200 and response.content and response.content == response.content.upper()


class AwaitsSyncCode(Filter):
    """An async filter reaching sync code (the ORM) the Django way: records the thread it ran in."""

    def __init__(self, **options):
        super().__init__(**options)
        self.threads: list[threading.Thread] = []

    async def filter(self, environ, headers, data):
        from asgiref.sync import sync_to_async

        await sync_to_async(lambda: self.threads.append(threading.current_thread()))()
        return data.upper()


def test_under_wsgi_an_async_filters_sync_to_async_calls_run_in_the_requests_thread():
    # As Django runs an async view from sync code (async_to_sync): the request's thread, with its
    # database connection, and no wait on a thread that waits for the filter.
    flt = AwaitsSyncCode()
    with project([flt]):
        response = Client().get("/html/")
    assert response.status_code == 200 and response.content == response.content.upper()
    assert flt.threads == [threading.current_thread()]
