"""The code samples of docs/asgi.md run and do what the text says."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.support.django_project import HTML_PAGE, setup_django

DOC = Path(__file__).resolve().parents[2] / "docs" / "asgi.md"


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def run_sample(marker: str) -> dict:
    """Run the one doc sample containing ``marker`` and return its namespace."""
    matching = [code for code in samples() if marker in code]
    assert len(matching) == 1, f"{marker!r} is in {len(matching)} samples"
    namespace: dict = {"__name__": "docs_sample"}
    exec(compile(matching[0], str(DOC), "exec"), namespace)
    return namespace


async def get(app, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        return await client.get(path)


def html_app(page: str):
    async def endpoint(request):
        return HTMLResponse(page)

    return Starlette(routes=[Route("/page", endpoint)])


def test_every_sample_compiles():
    assert len(samples()) == 5
    for code in samples():
        compile(code, str(DOC), "exec")


async def test_the_fastapi_sample_adds_the_banner():
    response = await get(run_sample("app.add_middleware(Banner)")["app"], "/")
    assert response.text == "<html><body><div class='banner'>staging</div><h1>Home</h1></body></html>"


async def test_the_starlette_sample_hides_emails():
    response = await get(run_sample("class HideEmails")["app"], "/users")
    assert response.json() == {"users": [{"name": "ada", "email": "hidden"}]}


async def test_the_django_sample_wraps_the_asgi_handler(monkeypatch):
    setup_django()
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    response = await get(run_sample("get_asgi_application()")["application"], "/html/")
    assert response.text == HTML_PAGE.replace("<body>", "<body><div class='banner'>staging</div>")


async def test_the_environ_sample_stamps_the_path():
    StampPath = run_sample("class StampPath")["StampPath"]
    response = await get(StampPath(html_app("<p>x</p>")), "/page")
    assert response.text == "<p>x</p><!-- /page  -->"


async def test_the_async_sample_is_awaited():
    Translate = run_sample("class Translate")["Translate"]
    response = await get(Translate(html_app("<p>Hello</p>")), "/page")
    assert response.text == "<p>Bonjour</p>"


async def test_the_heavy_sample_runs_in_a_worker_thread(monkeypatch):
    HeavyRewrite = run_sample("class HeavyRewrite")["HeavyRewrite"]
    threads = []
    original = HeavyRewrite.filter

    def recording(self, environ, headers, data):
        threads.append(threading.get_ident())
        return original(self, environ, headers, data)

    monkeypatch.setattr(HeavyRewrite, "filter", recording)
    response = await get(HeavyRewrite(html_app("<p>colour</p>")), "/page")
    assert response.text == "<p>color</p>"
    assert threads and threads[0] != threading.get_ident()


@pytest.fixture(autouse=True)
def _no_leftover_settings_module(monkeypatch):
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
