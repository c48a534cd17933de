"""Pages labelled with the Encoding standard's "replacement" encoding (iso-2022-kr,
hz-gb-2312, iso-2022-cn...): browsers show them as one U+FFFD, never as markup, a guard
against charset confusion. What a filter writes into them is never relabelled — in UTF-8
such a page would become live HTML, its scripts run — and a character the page's codec
cannot hold becomes a character reference instead."""

from __future__ import annotations

import pytest

from dualfilter.charsets import Charset, neutralized
from dualfilter.filters import Inject, Replace
from dualfilter.html import Rewriter, on
from dualfilter.testing import run_filter

PAGE = b"<html><body><p>x</p><script>alert(document.domain)</script>" + b" " * 3000 + b"</body></html>"


class Smile(Rewriter):
    @on("p")
    def p(self, element, environ):
        element.append("\U0001f600")


@pytest.mark.parametrize("label", ["iso-2022-kr", "hz-gb-2312", "CSISO2022KR"])
@pytest.mark.parametrize(
    "flt",
    [Smile, Inject(html="<b>\U0001f600</b>"), Replace(pattern="x", repl="\U0001f600")],
    ids=["rewriter", "inject", "replace"],
)
@pytest.mark.parametrize("chunks", [1, 4])
def test_a_page_in_a_replacement_label_keeps_its_label(label, flt, chunks):
    status, headers, body = run_filter(flt, PAGE, content_type=f"text/html; charset={label}", chunks=chunks)
    assert status == 200 and dict(headers)["Content-Type"] == f"text/html; charset={label}"
    assert b"&#128512;" in body and b"\xf0\x9f\x98\x80" not in body


def test_a_meta_declared_replacement_label_keeps_the_page_unlabelled():
    page = b'<html><head><meta charset="iso-2022-kr"></head>' + PAGE[6:]
    status, headers, body = run_filter(Smile, page, content_type="text/html", chunks=3)
    assert dict(headers)["Content-Type"] == "text/html"  # never charset=utf-8
    assert b"&#128512;" in body


def test_neutralized_names_only_the_replacement_labels():
    assert neutralized(Charset("iso2022_kr", "header", " ISO-2022-KR "))
    assert neutralized(Charset("hz", "document", "hz-gb-2312"))
    assert not neutralized(Charset("iso2022_jp", "header", "iso-2022-jp"))  # a real encoding to browsers
    assert not neutralized(Charset("utf-8", "default", ""))
    assert not neutralized(None)
