"""A body in flight (dualfilter.body): each filter's view of it, and its result settled back."""

from __future__ import annotations

import pytest

from dualfilter import Filter, FilterError, Headers
from dualfilter.body import BodyValue, NothingToParse, settle, view

from .conftest import drive

HTML = [("Content-Type", "text/html; charset=iso-8859-1")]


class Bytes(Filter):
    def filter(self, environ, headers, data):
        return data


class Text(Filter):
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data


class Tree(Filter):
    format = "lxml_html"

    def filter(self, environ, headers, data):
        return data


def test_a_bytes_filter_sees_the_bytes_as_they_are():
    body = b"caf\xe9"
    seen = view(BodyValue(body), Bytes(), Headers(list(HTML)))
    assert seen.data is body


def test_a_text_filter_sees_the_body_decoded_by_the_declared_charset():
    assert view(BodyValue(b"caf\xe9"), Text(), Headers(list(HTML))).data == "café"


def test_text_left_by_one_stage_is_taken_as_it_is_by_the_next_text_stage():
    value = settle(Text(), view(BodyValue(b"caf\xe9"), Text(), Headers(list(HTML))), "café!")
    assert view(value, Text(), Headers(list(HTML))).data == "café!"


def test_a_bytes_stage_after_a_text_stage_gets_it_serialized_in_the_charset_it_came_in():
    value = settle(Text(), view(BodyValue(b"caf\xe9"), Text(), Headers(list(HTML))), "café!")
    assert view(value, Bytes(), Headers(list(HTML))).data == b"caf\xe9!"


def test_content_codings_are_undone_before_a_filter_sees_the_body():
    import gzip

    value = BodyValue(gzip.compress(b"<p>x</p>"), codings=("gzip",), limit=1000)
    assert view(value, Bytes(), Headers(list(HTML))).data == b"<p>x</p>"


def test_an_empty_body_is_no_document_for_a_format():
    with pytest.raises(NothingToParse):
        view(BodyValue(b""), Tree(), Headers([("Content-Type", "text/html")]))


def test_a_result_of_the_wrong_kind_is_refused_naming_the_filter():
    seen = view(BodyValue(b"<p>x</p>"), Tree(), Headers([("Content-Type", "text/html")]))
    with pytest.raises(FilterError, match="Tree.filter.. returned int, which format lxml_html cannot write"):
        settle(Tree(), seen, 42)


def test_chunks_of_text_are_joined():
    seen = view(BodyValue(b"x"), Text(), Headers(list(HTML)))
    assert settle(Text(), seen, iter(["a", "b"])).value == "ab"


def test_a_filter_may_return_an_instance_of_a_bytes_subclass():
    class Marked(bytes):
        pass

    class Returning(Filter):
        def filter(self, environ, headers, data):
            return Marked(data.upper())

    assert drive(Returning(), [b"<p>a</p>"])[1:4:2] == (200, b"<P>A</P>")


def test_a_text_filter_may_return_markup_and_the_page_is_its_text_encoded():
    # markupsafe's Markup (what Jinja and Flask code hands around) is a str subclass whose
    # methods escape what they are given: written as the plain text it holds.
    from markupsafe import Markup

    class Banner(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            return Markup(data).replace(Markup("</body>"), Markup("<b>\u00e9</b></body>"))

    _, status, headers, body = drive(Banner(), [b"<body>x</body>"], headers=[("Content-Type", "text/html; charset=utf-8")])
    expected = "<body>x<b>\u00e9</b></body>".encode()
    assert (status, body, dict(headers)["Content-Length"]) == (200, expected, str(len(expected)))


def test_a_text_stream_may_return_markup():
    from markupsafe import Markup

    class Stream:
        def feed(self, text):
            return Markup(text.upper())

        def finish(self):
            return Markup("")

    class Upper(Filter):
        decode_unicode = True

        def stream(self, environ, headers):
            return Stream()

    _, status, _, body = drive(Upper(), [b"<p>a", b"</p>"], headers=[("Content-Type", "text/html; charset=utf-8")])
    assert (status, body) == (200, b"<P>A</P>")
