"""A missing optional package is one clear ImportError when a filter is built, naming the extra.

Absence is real: the package's entries in ``sys.modules`` are set to None,
which makes Python refuse to import it, in this process (restored after the
test) or in a fresh interpreter for what is imported once per process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import brotli
import pytest
import zstandard

from dualfilter import Filter
from dualfilter.extras import MissingExtra, install_command, require
from dualfilter.testing import run_filter
from tests.support.filters import Upper

ROOT = Path(__file__).resolve().parents[2]
LXML = ("lxml", "lxml.etree", "lxml.html")


@pytest.fixture
def no_lxml(monkeypatch):
    for name in LXML:
        monkeypatch.setitem(sys.modules, name, None)


def run_without(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which ``modules`` cannot be imported."""
    prelude = f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


class NoFollow(Filter):
    format_output = "lxml.etree"

    def filter(self, environ, headers, data):
        return data


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>x</p>"]


def test_require_returns_the_module_when_it_is_installed():
    assert require("compression", "zstandard") is zstandard


def test_require_raises_one_import_error_naming_the_extra_and_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "brotli", None)
    with pytest.raises(ImportError) as caught:
        require("compression", "brotli", purpose="br responses")
    assert isinstance(caught.value, MissingExtra)
    assert (
        str(caught.value)
        == "br responses needs the brotli package, which is not installed: pip install 'dualfilter[compression]'"
    )
    assert caught.value.extra == "compression"


def test_the_install_command_is_quoted_for_every_shell():
    assert install_command("lxml") == "pip install 'dualfilter[lxml]'"


@pytest.mark.parametrize("fmt", ["lxml_html", "lxml_xml"])
def test_a_filter_with_an_lxml_format_fails_when_built_without_lxml(no_lxml, fmt):
    with pytest.raises(MissingExtra, match=re.escape(f"the {fmt} format needs the lxml package") + ".*dualfilter\\[lxml\\]"):
        Filter(format=fmt)


def test_a_filter_asking_for_lxml_trees_fails_when_built_without_lxml(no_lxml):
    with pytest.raises(MissingExtra, match=re.escape("pip install 'dualfilter[lxml]'")):
        NoFollow()


def test_wrapping_an_app_fails_at_once_not_on_the_first_request(no_lxml):
    with pytest.raises(MissingExtra):
        NoFollow(wsgi_app)


def test_rewrite_links_fails_when_built_without_lxml_or_the_html_engine(no_lxml, monkeypatch):
    from dualfilter.filters import RewriteLinks
    from dualfilter.html import engine

    monkeypatch.setattr(engine, "lolhtml", None)
    with pytest.raises(MissingExtra, match=re.escape("dualfilter[lxml]")):
        RewriteLinks(mapping={"/a/": "/b/"})


def test_rewrite_links_streams_without_lxml_when_the_html_engine_is_installed(no_lxml):
    from dualfilter.filters import RewriteLinks

    page = b'<a href="/a/1">1</a>'
    assert run_filter(RewriteLinks(mapping={"/a/": "/b/"}), page)[2] == b'<a href="/b/1">1</a>'


def test_xslt_fails_when_built_without_lxml_naming_itself(no_lxml, tmp_path):
    from dualfilter.filters import XSLT

    with pytest.raises(
        MissingExtra, match=re.escape("XSLT needs the lxml package, which is not installed: pip install 'dualfilter[lxml]'")
    ):
        XSLT(stylesheet=str(tmp_path / "any.xsl"))


def test_filters_that_need_no_extra_build_and_run_without_lxml(no_lxml):
    assert run_filter(Upper, b"<p>hi</p>")[2] == b"<P>HI</P>"


def test_json_format_needs_no_extra(no_lxml):
    class Stamp(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            data["ok"] = True
            return data

    assert run_filter(Stamp, b"{}", content_type="application/json")[2] == b'{"ok":true}'


def test_the_command_line_reports_a_missing_extra_in_one_line():
    result = run_without(
        (*LXML, "lolhtml"),
        """
        from dualfilter.cli import main
        sys.exit(main(["apply", "--filter", "rewrite-links?mapping=/a/=/b/", "-"]))
        """,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dualfilter: error: rewrite-links: the lxml_html format needs the lxml package, which is not installed: "
        "pip install 'dualfilter[lxml]'"
    ]


def test_iis_filter_mode_fails_when_built_without_h11_naming_the_isapi_extra():
    result = run_without(
        ("h11",),
        """
        from dualfilter import Filter
        from dualfilter.extras import MissingExtra
        try:
            Filter.isapi_filter()
        except MissingExtra as exc:
            print(exc)
        """,
    )
    assert (
        result.stdout.strip() == "IIS filter mode needs the h11 package, which is not installed: pip install 'dualfilter[isapi]'"
    )


def test_the_core_and_the_extension_wrapper_import_without_h11():
    result = run_without(("h11",), "import dualfilter, dualfilter.isapi; print('ok')")
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize(
    ("coding", "module", "compress"), [("br", "brotli", brotli.compress), ("zstd", "zstandard", zstandard.compress)]
)
def test_a_compressed_response_without_its_library_passes_unfiltered_with_a_warning_naming_the_extra(coding, module, compress):
    body = compress(b"<p>hello</p>")
    result = run_without(
        (module,),
        f"""
        import logging
        from dualfilter import Filter
        from dualfilter.testing import run_filter

        class Upper(Filter):
            def filter(self, environ, headers, data):
                return data.upper()

        logging.basicConfig(format="%(levelname)s %(message)s")
        for _ in range(2):
            status, headers, body = run_filter(Upper, {body!r}, headers=[("Content-Encoding", "{coding}")])
            assert (status, body) == (200, {body!r}), (status, body)
        print("passed through")
        """,
    )
    assert result.stdout.strip() == "passed through", result.stderr
    hint = f"WARNING {coding} responses pass through unfiltered: the {module} package is not installed "
    hint += "(pip install 'dualfilter[compression]')"
    assert result.stderr.count(hint) == 1, result.stderr


def test_every_extra_the_code_names_is_declared_in_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text()
    declared = set(re.findall(r"^([a-z-]+) = \[", pyproject.partition("[project.optional-dependencies]")[2], re.M))
    named = set()
    for path in (ROOT / "dualfilter").rglob("*.py"):
        if "extras import" in (text := path.read_text()):
            named |= set(re.findall(r"""require\(\s*"([a-z-]+)",""", text))
    named.add("compression")  # codings.EXTRA
    assert named and named <= declared, named - declared


def test_the_serve_extra_brings_what_the_readme_examples_need():
    pyproject = (ROOT / "pyproject.toml").read_text()
    serve = re.search(r"^serve = \[(.*)\]$", pyproject, re.M)
    assert serve is not None
    for package in ("uvicorn", "httpx", "a2wsgi", "lxml"):  # lxml: the rewrite-links proxy example
        assert f'"{package}>=' in serve[1]
