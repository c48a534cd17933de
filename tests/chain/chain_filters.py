"""Example stages for the chain tests: bytes, text, lxml and JSON filters, and odd ones."""

from __future__ import annotations

from dualfilter import Filter
from dualfilter.formats.lxml_trees import LxmlHTMLFormat
from tests.support.filters import AsyncUpper, Upper  # noqa: F401 - the folder's tests import them from here
from tests.support.filters import Rot13 as Rot13Text  # noqa: F401 - the name the chain tests use


class Snowman(Filter):
    """Appends a character many charsets cannot hold, as text."""

    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.replace("</body>", "\u2603</body>")


class MarkBody(Filter):
    """Adds a class to ``<body>`` (lxml), named by the ``mark`` option."""

    format = "lxml_html"
    mark: str = "m"

    def filter(self, environ, headers, data):
        body = data.find("body")
        if body is not None:
            body.set("class", (body.get("class", "") + " " + self.mark).strip())
        return data


class AddParagraph(Filter):
    """Appends a paragraph to ``<body>`` (lxml)."""

    format = "lxml_html"

    def filter(self, environ, headers, data):
        import lxml.html

        body = data.find("body")
        if body is not None:
            body.append(lxml.html.fragment_fromstring("<p>added</p>"))
        return data


class TagXML(Filter):
    """Sets an attribute on the XML root (lxml_xml)."""

    format = "lxml_xml"

    def filter(self, environ, headers, data):
        data.set("tagged", "yes")
        return data


class CountJSON(Filter):
    """Counts the stages that saw a JSON object, in its ``seen`` list."""

    format = "json"
    label: str = "j"

    def filter(self, environ, headers, data):
        if isinstance(data, dict):
            data.setdefault("seen", []).append(self.label)
        return data


class PlainToHTML(Filter):
    """Turns text/plain into an HTML page: a stage that changes the Content-Type."""

    filter_content_types = ("text/plain",)
    decode_unicode = True

    def filter(self, environ, headers, data):
        headers["Content-Type"] = "text/html; charset=utf-8"
        return f"<html><body><pre>{data}</pre></body></html>"


class JSONOnly(Filter):
    """A bytes filter for JSON only: does not apply to HTML."""

    filter_content_types = ("application/json",)

    def filter(self, environ, headers, data):
        return data.replace(b"{", b"{ ", 1)


class AddHeader(Filter):
    """Adds a response header naming itself."""

    filter_content_types = ("*/*",)
    value: str = "x"

    def filter(self, environ, headers, data):
        headers.add_header("X-Stage", self.value)
        return data


class OnlyIfTagged(Filter):
    """Filters only responses carrying X-Stage (a custom should_filter)."""

    filter_content_types = ("*/*",)

    def should_filter(self, environ, status, headers):
        return status == 200 and "X-Stage" in headers

    def filter(self, environ, headers, data):
        return data + b"<!-- tagged -->"


class Boom(Filter):
    """Always raises."""

    filter_content_types = ("*/*",)

    def filter(self, environ, headers, data):
        raise RuntimeError("boom")


class CountingHTML(LxmlHTMLFormat):
    """lxml_html that counts its parses and serializations."""

    name = "counting_html"

    def __init__(self) -> None:
        self.parses = 0
        self.serializations = 0

    def parse(self, data, declared, media_type):
        self.parses += 1
        return super().parse(data, declared, media_type)

    def serialize(self, value, charset, media_type, output_encoding):
        self.serializations += 1
        return super().serialize(value, charset, media_type, output_encoding)


class ReturnsNumber(MarkBody):
    """An lxml filter that returns what no format can write."""

    def filter(self, environ, headers, data):
        return 42


class Replace(Filter):
    """Streams text, replacing ``old`` by ``new``: holds back what may be the
    start of ``old``, so a match split across chunks is still found."""

    decode_unicode = True
    old: str = "cat"
    new: str = "dog"

    def stream(self, environ, headers):
        return ReplaceStream(self.old, self.new)


class ReplaceStream:
    """The stream of :class:`Replace` for one response."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self.tail = ""

    def feed(self, text: str) -> str:
        text = self.tail + text
        old, out, start = self.old, [], 0
        while (found := text.find(old, start)) != -1:
            out += [text[start:found], self.new]
            start = found + len(old)
        rest = text[start:]
        # Hold back the longest end of the rest that could start a match.
        hold = next((n for n in range(min(len(old) - 1, len(rest)), 0, -1) if old.startswith(rest[-n:])), 0)
        self.tail = rest[len(rest) - hold :]
        out.append(rest[: len(rest) - hold])
        return "".join(out)

    def finish(self) -> str:
        tail, self.tail = self.tail, ""
        return tail


class UpperStream(Filter):
    """Streams bytes, upper-cased: a stateless streaming filter."""

    def stream(self, environ, headers):
        return UpperChunks()


class UpperChunks:
    def feed(self, data: bytes) -> bytes:
        return data.upper()

    def finish(self) -> bytes:
        return b""


class Footer(Filter):
    """Streams text, adding a footer at the end; marks the response in a header."""

    decode_unicode = True
    text: str = "<!-- footer -->"

    def stream(self, environ, headers):
        headers["X-Footer"] = "yes"
        return FooterStream(self.text)


class FooterStream:
    def __init__(self, text: str) -> None:
        self.text = text

    def feed(self, data: str) -> str:
        return data

    def finish(self) -> str:
        return self.text
