"""The code samples of docs/wsgi.md run and do what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from wsgi_harness import make_environ, serve

from tests.support.django_project import setup_django

DOC = Path(__file__).resolve().parents[2] / "docs" / "wsgi.md"
SCRIPT = b'<script src="/static/banner.js"></script></body>'


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def sample(marker: str) -> str:
    (found,) = [code for code in samples() if marker in code]
    return found


def run(*codes: str) -> dict:
    namespace: dict = {"__name__": "wsgi_docs_sample"}
    for code in codes:
        exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def test_every_sample_compiles():
    for code in samples():
        compile(code, str(DOC), "exec")


def test_the_flask_recipe_filters_flask_pages():
    namespace = run(sample("class InjectScript"), sample("Flask("))
    response = namespace["app"].test_client().get("/")
    assert response.get_data() == b"<html><body><h1>Hello</h1>" + SCRIPT + b"</html>"


def test_the_django_recipe_filters_django_pages(monkeypatch):
    setup_django()
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    namespace = run(sample("class InjectScript"), sample("get_wsgi_application"))
    response = serve(namespace["application"], make_environ(path="/html/"))
    assert response.status == 200
    assert response.body.endswith(SCRIPT + b"</html>")
