"""Inject on the streaming HTML engine (the html extra): a page whose charset comes from a
``<meta>`` or from its bytes, and cannot hold the snippet, goes out as UTF-8 from its first
byte, the Content-Type saying so; the snippet is never written as character references,
which a script would read as they are (docs/filters.md, Inject)."""

from __future__ import annotations

import pytest

from dualfilter.filters import Inject
from dualfilter.testing import run_filter

SNIPPET = '<script>var s="€ → ü"</script>'
#: Long enough that the page's first output goes out before the snippet is inserted.
FILLER = "<p>" + "x" * 3000 + "</p>"
META_PAGE = f'<html><head><meta charset="shift_jis"><title>t</title></head><body><p>日本</p>{FILLER}</body></html>'


@pytest.mark.parametrize("chunks", [1, 2, 5])
def test_a_meta_declared_page_that_cannot_hold_the_snippet_leaves_as_utf8(chunks):
    status, headers, body = run_filter(
        Inject(html=SNIPPET), META_PAGE.encode("shift_jis"), content_type="text/html", chunks=chunks
    )
    assert status == 200 and dict(headers)["Content-Type"] == "text/html; charset=utf-8"
    assert body.decode("utf-8") == META_PAGE.replace("</body>", SNIPPET + "</body>")


def test_an_undeclared_windows_1252_page_that_cannot_hold_the_snippet_leaves_as_utf8():
    page = b"<html><body><p>caf\xe9</p>" + FILLER.encode() + b"</body></html>"
    status, headers, body = run_filter(Inject(html='<script>var s="\u2192"</script>'), page, content_type="text/html", chunks=2)
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"
    assert body == f'<html><body><p>café</p>{FILLER}<script>var s="→"</script></body></html>'.encode()


def test_a_page_whose_charset_holds_the_snippet_stays_byte_for_byte():
    page = META_PAGE.encode("shift_jis")
    status, headers, body = run_filter(Inject(html="<script>var s='日本'</script>"), page, content_type="text/html", chunks=3)
    assert dict(headers)["Content-Type"] == "text/html"
    assert body == page.replace(b"</body>", "<script>var s='日本'</script>".encode("shift_jis") + b"</body>")
