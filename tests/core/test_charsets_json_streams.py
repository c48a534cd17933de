"""JSON text streamed chunk by chunk is read and labelled as the same JSON filtered whole:
a byte order mark (UTF-8, UTF-16 or UTF-32) decides its charset, else it is UTF-8, and a
``charset`` the Content-Type declares then says UTF-8."""

from __future__ import annotations

import codecs

import pytest

from dualfilter import Filter
from dualfilter.testing import run_filter
from tests.support.hardening_hosts import HOSTS, Inner, fetch, header

JSON = '{"name": "caf\u00e9"}'
#: Each byte order mark a JSON body may start with, and the codec of the text after it.
MARKED = {
    "utf-8": codecs.BOM_UTF8 + JSON.encode("utf-8"),
    "utf-16-le": codecs.BOM_UTF16_LE + JSON.encode("utf-16-le"),
    "utf-16-be": codecs.BOM_UTF16_BE + JSON.encode("utf-16-be"),
    "utf-32-le": codecs.BOM_UTF32_LE + JSON.encode("utf-32-le"),
    "utf-32-be": codecs.BOM_UTF32_BE + JSON.encode("utf-32-be"),
}


class Upper(Filter):
    """Upper-cases JSON text, whole."""

    decode_unicode = True
    filter_content_types = ("application/json", "*/*+json")

    def filter(self, environ, headers, data):
        return data.upper()


class UpperStream:
    def feed(self, text):
        return text.upper()

    def finish(self):
        return ""


class StreamedUpper(Upper):
    """The same, chunk by chunk."""

    def stream(self, environ, headers):
        return UpperStream()


def served(host: str, flt: Filter, content_type: str, body: bytes, chunk: int = 0):
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    return fetch(host, flt, Inner(200, "OK", [("Content-Type", content_type)], chunks))


class Seen(Upper):
    """Keeps the text it is given."""

    def filter(self, environ, headers, data):
        self.seen = data
        return super().filter(environ, headers, data)


@pytest.mark.parametrize("codec", list(MARKED))
def test_json_after_a_byte_order_mark_is_given_to_a_text_filter_as_its_text(codec):
    flt = Seen()
    run_filter(flt, MARKED[codec], content_type="application/json")
    assert flt.seen == JSON


@pytest.mark.parametrize("codec", list(MARKED))
def test_json_after_a_byte_order_mark_is_written_back_in_the_marks_charset_whole(codec):
    status, _, body = run_filter(Upper(), MARKED[codec], content_type="application/json")
    assert (status, body) == (200, MARKED[codec][: len(MARKED[codec]) - len(JSON.encode(codec))] + JSON.upper().encode(codec))


@pytest.mark.parametrize("chunk", [0, 1, 3])
@pytest.mark.parametrize("codec", list(MARKED))
@pytest.mark.parametrize("host", HOSTS)
def test_streamed_json_after_a_byte_order_mark_is_what_the_whole_json_gives(host, codec, chunk):
    whole = served(host, Upper(), "application/json", MARKED[codec])
    streamed = served(host, StreamedUpper(), "application/json", MARKED[codec], chunk)
    assert header(streamed, "content-length") is None  # it streamed
    assert (streamed.status, streamed.body) == (200, whole.body)
    assert header(streamed, "content-type") == header(whole, "content-type") == "application/json"


@pytest.mark.parametrize("label", ["iso-8859-1", "koi8-r", "UTF-8"])
@pytest.mark.parametrize("host", HOSTS)
def test_streamed_json_declares_the_utf8_it_is_in_whatever_charset_its_content_type_named(host, label):
    response = served(host, StreamedUpper(), f"application/json; charset={label}", JSON.encode(), chunk=4)
    assert (response.status, response.body) == (200, JSON.upper().encode())
    assert header(response, "content-type").lower() == "application/json; charset=utf-8"


@pytest.mark.parametrize("host", HOSTS)
def test_streamed_json_without_a_charset_gets_none(host):
    response = served(host, StreamedUpper(), "application/problem+json", JSON.encode(), chunk=4)
    assert (response.status, header(response, "content-type")) == (200, "application/problem+json")


@pytest.mark.parametrize("host", HOSTS)
def test_streamed_json_after_a_byte_order_mark_keeps_its_content_type_as_whole_json_does(host):
    # The mark decides, whatever the header says: the header is left as the app sent it.
    content_type = "application/json; charset=utf-16"
    whole = served(host, Upper(), content_type, MARKED["utf-16-le"])
    streamed = served(host, StreamedUpper(), content_type, MARKED["utf-16-le"], chunk=3)
    assert header(streamed, "content-type") == header(whole, "content-type") == content_type
    assert streamed.body == whole.body


@pytest.mark.parametrize("flt", [Upper, StreamedUpper], ids=["whole", "streamed"])
@pytest.mark.parametrize("host", HOSTS)
def test_json_that_is_not_utf8_is_the_500_whole_or_streamed_as_for_the_json_format(host, flt):
    # RFC 8259: JSON is UTF-8, whatever a charset parameter says; a body that is not is not
    # read as windows-1252 whole while its stream refuses it.
    for content_type in ("application/json", "application/json; charset=iso-8859-1"):
        response = served(host, flt(), content_type, JSON.encode("latin-1"))
        assert response.status == 500, content_type


def test_json_that_is_not_utf8_is_filtered_whole_with_its_bytes_replaced_under_unicode_errors_replace():
    status, _, body = run_filter(Upper(unicode_errors="replace"), JSON.encode("latin-1"), content_type="application/json")
    assert (status, body) == (200, '{"NAME": "CAF\ufffd"}'.encode())
