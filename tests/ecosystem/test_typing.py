"""The README's recipes type-check in a user's project, and misuse is flagged.

Each checker runs once, in a subprocess, from a temporary project directory
(not this checkout); dualfilter is found on the import path the way an
installed or editable copy is, with its ``py.typed`` marker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RECIPES = '''\
"""A user's project: the README's recipes, as a strict type checker sees them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware

from dualfilter import Filter, Headers, chain

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from dualfilter.apps import ASGIApplication


class InjectScript(Filter):
    def filter(self, environ: Mapping[str, Any], headers: Headers, data: bytes) -> bytes:
        return data.replace(b"</body>", b"<script></script></body>", 1)


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>hello</p>"]


api = FastAPI()
api.add_middleware(InjectScript)
api.add_middleware(InjectScript, debug=True)
site = Starlette(middleware=[Middleware(InjectScript, debug=True)])

flask_app = Flask(__name__)
flask_app.wsgi_app = InjectScript(flask_app.wsgi_app)  # type: ignore[method-assign]

wsgi_app: WSGIApplication = InjectScript.wsgi(hello)
asgi_app: ASGIApplication = InjectScript.asgi(api)
detected_wsgi: WSGIApplication = InjectScript(hello)
detected_asgi: ASGIApplication = InjectScript(site, debug=True)
stacked: WSGIApplication = InjectScript(InjectScript(hello))
configured: ASGIApplication = InjectScript(debug=True).asgi(api)
banner: InjectScript = InjectScript(debug=True)

Pipeline = chain(InjectScript, InjectScript(debug=True))  # a chain is a filter class too
chained_wsgi: WSGIApplication = Pipeline(hello)
chained_asgi: ASGIApplication = Pipeline(api)
api.add_middleware(Pipeline, debug=True)
chained_site = Starlette(middleware=[Middleware(Pipeline)])
'''

#: Each misuse, marked by its name at the end of its line, and what mypy must say of it.
MISUSES = """\
from __future__ import annotations

from fastapi import FastAPI
from flask import Flask

from dualfilter import Filter


class InjectScript(Filter):
    pass


api = FastAPI()
flask_app = Flask(__name__)
InjectScript(42)  # int-as-app
InjectScript.wsgi(42)  # int-to-wsgi
InjectScript.asgi("app")  # str-to-asgi
InjectScript(InjectScript)  # filter-class-as-app
api.add_middleware(InjectScript())  # instance-to-add-middleware
wsgi_result: int = InjectScript.wsgi(flask_app.wsgi_app)  # wsgi-result-is-typed
asgi_result: int = InjectScript(api)  # asgi-result-is-typed
"""

EXPECTED = {
    "int-as-app": ("call-overload", 'No overload variant of "InjectScript" matches argument type "int"'),
    "int-to-wsgi": ("arg-type", 'incompatible type "int"; expected "Callable[[dict[str, Any], StartResponse], Iterable[bytes]]"'),
    "str-to-asgi": ("arg-type", 'has incompatible type "str"; expected "Callable[[Any, Callable[[], Awaitable[Any]]'),
    "filter-class-as-app": ("arg-type", 'has incompatible type "type[InjectScript]"'),
    "instance-to-add-middleware": ("arg-type", '"add_middleware" of "Starlette" has incompatible type "InjectScript"'),
    "wsgi-result-is-typed": ("assignment", 'expression has type "WSGIMiddleware", variable has type "int"'),
    "asgi-result-is-typed": ("assignment", 'variable has type "int"'),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A user's project directory holding the two modules, away from this checkout."""
    path = tmp_path_factory.mktemp("user_project")
    (path / "recipes.py").write_text(RECIPES)
    (path / "misuses.py").write_text(MISUSES)
    return path


def _env() -> dict[str, str]:
    # This checkout on the import path, as an installed copy is: checkers treat it as a library.
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def mypy_errors(project):
    """mypy --strict's errors on both modules: {module: [(line, code, message)]}."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes", "recipes.py", "misuses.py"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors: dict[str, list[tuple[int, str, str]]] = {"recipes.py": [], "misuses.py": []}
    for match in re.finditer(r"^(\w+\.py):(\d+): error: (.*)  \[([\w-]+)\]$", result.stdout, re.M):
        errors[match[1]].append((int(match[2]), match[4], match[3]))
    assert "error: " not in result.stderr, result.stderr
    return errors


def _line_of(label: str) -> int:
    return next(n for n, line in enumerate(MISUSES.splitlines(), 1) if line.endswith(f"# {label}"))


def test_the_readme_recipes_pass_mypy_strict_in_a_users_project(mypy_errors):
    assert mypy_errors["recipes.py"] == []


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_mypy_flags_each_misuse(mypy_errors, label):
    code, message = EXPECTED[label]
    found = [(c, m) for line, c, m in mypy_errors["misuses.py"] if line == _line_of(label)]
    assert any(c == code and message in m for c, m in found), found


def test_mypy_flags_nothing_else_in_the_misuse_module(mypy_errors):
    assert {line for line, _, _ in mypy_errors["misuses.py"]} == {_line_of(label) for label in EXPECTED}


@pytest.fixture(scope="module")
def pyright_report(project):
    """pyright's strict-mode report on both modules, as JSON."""
    (project / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, "recipes.py", "misuses.py"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(result.stdout)


def _pyright_errors(report, module: str) -> list[tuple[int, str]]:
    return [
        (d["range"]["start"]["line"] + 1, d["message"])
        for d in report["generalDiagnostics"]
        if d["severity"] == "error" and d["file"].endswith(module)
    ]


def test_the_readme_recipes_pass_pyright_strict_in_a_users_project(pyright_report):
    assert _pyright_errors(pyright_report, "recipes.py") == []


@pytest.mark.parametrize(
    "label", ["int-as-app", "int-to-wsgi", "str-to-asgi", "filter-class-as-app", "instance-to-add-middleware"]
)
def test_pyright_flags_each_misuse(pyright_report, label):
    assert any(line == _line_of(label) for line, _ in _pyright_errors(pyright_report, "misuses.py"))
