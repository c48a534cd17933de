"""Rewriters the tests share."""

from __future__ import annotations

from dualfilter.html import Rewriter, on


class Tidy(Rewriter):
    """The DESIGN example: an attribute, a banner, a text node, the document end."""

    @on("a[href^='http']")
    def external(self, element, environ):
        element.set_attribute("rel", "noopener")

    @on("body")
    def banner(self, element, environ):
        element.prepend('<div class="banner">staging</div>', html=True)

    @on.text("title")
    def title(self, text, environ):
        text.replace(text.text.upper())

    def end(self, document, environ):
        document.append("<!-- filtered -->", html=True)


class CollectText(Rewriter):
    """Records every whole text node inside <p>, wraps it in brackets."""

    seen: list | None = None

    @on.text("p")
    def collect(self, text, environ):
        self.seen.append(text.text)
        text.replace("[" + text.text + "]", html=True)  # the text is as written: keep it so


PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Hello &amp; w\xc3\xb6rld</title></head>\n"
    b"<body class=x><p>one <b>two</b> three</p><a href='http://example.com/a'>ext</a>"
    b"<a href=/local>local</a><!-- a comment --><script>if (a < b) {}</script>"
    b"<p>caf\xc3\xa9 &lt;ok&gt;</p></body></html>\n"
)
