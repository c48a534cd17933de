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
