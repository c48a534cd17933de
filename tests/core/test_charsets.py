"""decode_unicode: finding the charset, and writing text back in the right one."""

from __future__ import annotations

import codecs

import pytest

from dualfilter import Filter
from dualfilter.testing import run_filter
from tests.support.filters import Identity, Rot13

from .conftest import decoded, drive


@pytest.mark.parametrize(
    ("text", "charset"),
    [("caf\u00e9 \u20ac", "utf-8"), ("caf\u00e9", "latin-1"), ("\u65e5\u672c\u8a9e", "shift_jis"), ("\u65e5\u672c", "euc-jp")],
)
def test_the_content_type_charset_decodes_the_body(text, charset):
    assert decoded(text.encode(charset), f"text/html; charset={charset}") == text


def test_a_utf8_bom_is_recognised_and_kept_out_of_the_text():
    assert decoded(codecs.BOM_UTF8 + "caf\u00e9".encode(), "text/html") == "caf\u00e9"


def test_a_utf16_bom_is_recognised():
    assert decoded("caf\u00e9".encode("utf-16"), "text/html") == "caf\u00e9"


def test_a_meta_charset_is_recognised_in_html():
    body = '<html><head><meta charset="iso-8859-15"></head><body>\u20ac</body></html>'.encode("iso-8859-15")
    assert "\u20ac" in decoded(body, "text/html")


def test_a_meta_http_equiv_charset_is_recognised_in_html():
    body = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>\u201c</p>'.encode("cp1252")
    assert "\u201c" in decoded(body, "text/html")


def test_an_xml_declaration_encoding_is_recognised():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><r>\u00e9</r>'.encode("latin-1")
    assert "\u00e9" in decoded(body, "application/xml")


def test_the_header_charset_wins_over_the_document():
    body = '<meta charset="shift_jis"><p>\u00e9</p>'.encode("latin-1")
    assert "\u00e9" in decoded(body, "text/html; charset=latin-1")


def test_no_charset_anywhere_means_utf8():
    assert decoded("\u00e9".encode(), "text/html") == "\u00e9"


def test_undeclared_bytes_that_are_not_utf8_fall_back_to_latin1_losslessly():
    body = "caf\u00e9".encode("latin-1")
    assert drive(Identity(), [body], headers=[("Content-Type", "text/html")])[3] == body


def test_text_goes_back_in_the_original_charset_when_it_fits():
    body = "<p>caf\u00e9</p>".encode("latin-1")
    status, headers, out = drive(Rot13(), [body], headers=[("Content-Type", "text/html; charset=ISO-8859-1")])[1:]
    assert out == "<p>pns\u00e9</p>".encode("latin-1")
    assert ("Content-Type", "text/html; charset=ISO-8859-1") in headers


def test_text_the_original_charset_cannot_hold_goes_out_in_output_encoding():
    class Euro(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            return data + "\u20ac"

    headers, out = drive(Euro(), [b"caf\xe9"], headers=[("Content-Type", "text/html; charset=latin-1")])[2:]
    assert out == "caf\u00e9\u20ac".encode()
    assert ("Content-Type", "text/html; charset=utf-8") in headers


def test_output_encoding_is_configurable():
    class Euro(Filter):
        decode_unicode = True
        output_encoding = "utf-16"

        def filter(self, environ, headers, data):
            return data + "\u20ac"

    headers, out = drive(Euro(), [b"a"], headers=[("Content-Type", "text/html; charset=ascii")])[2:]
    assert out.decode("utf-16") == "a\u20ac"
    assert ("Content-Type", "text/html; charset=utf-16") in headers


def test_a_body_not_in_its_declared_charset_gives_a_500(caplog):
    status = drive(Identity(), [b"\xfa\xff\xfe"], headers=[("Content-Type", "text/html; charset=utf-8")])[1]
    assert status == 500
    assert "not valid utf-8" in caplog.text


def test_unicode_errors_replace_filters_undecodable_bytes():
    flt = Rot13(unicode_errors="replace")
    body = drive(flt, [b"<b>a\xffb</b>"], headers=[("Content-Type", "text/html; charset=utf-8")])[3]
    assert body == "<b>n\ufffdo</b>".encode()


def test_an_unknown_charset_name_gives_a_500(caplog):
    assert drive(Identity(), [b"a"], headers=[("Content-Type", "text/html; charset=klingon")])[1] == 500
    assert "unknown charset 'klingon'" in caplog.text


def test_a_bytes_filter_leaves_the_content_type_alone():
    from tests.support.filters import Upper

    headers = drive(Upper(), [b"a"], headers=[("Content-Type", "text/html")])[2]
    assert ("Content-Type", "text/html") in headers


def test_seed_parity_rot13_of_text_between_tags():
    assert drive(Rot13(), [b"<b>Hello</b> <i>World</i>"])[3] == b"<b>Uryyb</b> <i>Jbeyq</i>"


class _EchoStream(Filter):
    decode_unicode = True
    unicode_errors = "replace"
    filter_content_types = ("text/plain", "text/html")

    def stream(self, environ, headers):
        class Echo:
            def feed(self, text):
                return text

            def finish(self):
                return ""

        return Echo()


@pytest.mark.parametrize(
    ("label", "body"),
    [("shift_jis", b"\x82\xa0 ok \x82"), ("iso-8859-3", b"a\xa5b"), ("utf-8", b"<p>caf\xe9 ok</p>"), ("gb18030", b"a\xffb")],
)
def test_a_stream_returning_its_text_unchanged_gives_the_apps_bytes_even_where_they_are_not_in_the_charset(label, body):
    # Under unicode_errors='replace' a bad byte decodes to U+FFFD, which the charset may not
    # be able to write (or writes otherwise): the text came back unchanged, so its bytes go.
    from dualfilter.testing import run_filter

    for chunks in (1, 3, len(body)):
        status, headers, out = run_filter(_EchoStream, body, content_type=f"text/plain; charset={label}", chunks=chunks)
        assert (status, out) == (200, body), chunks


class _UpperTextStream(Filter):
    """A streaming text filter: upper-cases each decoded chunk."""

    decode_unicode = True

    def stream(self, environ, headers):
        class Upper:
            def feed(self, text):
                return text.upper()

            def finish(self):
                return ""

        return Upper()


def test_a_streaming_text_filter_reads_the_charset_of_the_type_it_filters_of_several_lines():
    # A text/plain line before the text/html one must not lend it its charset (the page is UTF-8).
    headers = [("Content-Type", "text/plain; charset=utf-16le"), ("Content-Type", "text/html; charset=utf-8")]
    status, out, body = drive(_UpperTextStream(), ["<p>caf\u00e9</p>".encode()], headers=headers)[1:]
    assert (status, body) == (200, "<P>CAF\u00c9</P>".encode())


def test_the_rewriter_reads_the_charset_of_the_type_it_filters_of_several_lines():
    from dualfilter.html import Rewriter, on

    class Mark(Rewriter):
        @on("p")
        def mark(self, element, environ):
            element.set_attribute("title", "\u00e9")

    headers = [("Content-Type", "text/plain; charset=utf-16le"), ("Content-Type", "text/html; charset=utf-8")]
    status, out, body = drive(Mark(), ["<p>caf\u00e9</p>".encode()], headers=headers)[1:]
    assert (status, body) == (200, '<p title="\u00e9">caf\u00e9</p>'.encode())


class _SameTextStream(_EchoStream):
    """A streaming text filter that changes nothing, under unicode_errors='ignore'."""

    unicode_errors = "ignore"


@pytest.mark.parametrize(
    ("charset", "chunks"),
    [
        ("utf-8", [b"caf\xc3\xa9 ", b"\xff", b" ok"]),  # a chunk of bytes that decode to nothing
        ("utf-8", [b"caf\xc3\xa9", b" \xe2\x82"]),  # a character cut at the body's end
        ("utf-16le", [b"a\x00b\x00", b"c"]),
        ("shift_jis", [b"<p>\x82", b"\xa0\x82"]),
    ],
)
def test_an_unchanged_text_stream_under_unicode_errors_ignore_sends_the_apps_bytes(charset, chunks):
    # The identity rule (docs/guarantees.md): unchanged text goes out as the bytes it came from.
    headers = [("Content-Type", f"text/html; charset={charset}")]
    body = drive(_SameTextStream(), chunks, headers=headers)[3]
    assert body == b"".join(chunks)


def test_an_hz_page_is_filtered_whole_so_its_mode_shifts_come_back_as_they_came():
    # HZ shifts modes (~{ ... ~}) as iso-2022 does: a chunk's bytes depend on the mode before it.
    chunks = [b"<p>", b"~{", b"<:Ky~}</p>"]
    body = drive(_SameTextStream(unicode_errors="strict"), chunks, headers=[("Content-Type", "text/html; charset=hz-gb-2312")])[3]
    assert body == b"".join(chunks)


def test_of_several_filtered_content_types_the_last_one_and_its_charset_is_the_pages():
    # WHATWG Fetch, "extract a MIME type": browsers read the last; the page is windows-1251.
    class Mark(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            return data + "\u0436"

    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Type", "text/html; charset=windows-1251")]
    status, out, body = drive(Mark(), ["<p>\u0436</p>".encode("cp1251")], headers=headers)[1:]
    assert (status, body) == (200, "<p>\u0436</p>\u0436".encode("cp1251"))


@pytest.mark.parametrize(
    ("label", "page", "text"),
    [("koi8-u", b"\xae\xbe", "\u045e\u040e"), ("koi8-ru", b"\xae", "\u045e"), ("windows-1255", b"\xca", "\u05ba")],
)
def test_labels_read_as_the_encoding_standard_reads_them(label, page, text):
    seen = []

    class Read(Filter):
        decode_unicode = True
        filter_content_types = ("text/plain",)

        def filter(self, environ, headers, data):
            seen.append(data)
            return data

    status, out, body = drive(Read(), [page], headers=[("Content-Type", f"text/plain; charset={label}")])[1:]
    assert (status, seen, body) == (200, [text], page)


def test_a_later_content_type_line_of_the_same_type_keeps_the_earlier_charset():
    # WHATWG Fetch "extract a MIME type": text/html;charset=shift_jis, then text/html, is shift_jis.
    class Upper(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            return data.upper()

    page = "<p>\u65e5\u672c abc</p>".encode("shift_jis")
    headers = [("Content-Type", "text/html; charset=shift_jis"), ("Content-Type", "text/html")]
    body = drive(Upper(), [page], headers=headers)[3]
    assert body == "<P>\u65e5\u672c ABC</P>".encode("shift_jis")


def test_json_is_read_as_utf8_whatever_charset_its_content_type_names():
    # RFC 8259 sections 8.1 and 11: the charset parameter has no effect on compliant recipients.
    seen = []

    class Read(Filter):
        decode_unicode = True
        filter_content_types = ("application/json",)

        def filter(self, environ, headers, data):
            seen.append(data)
            return data

    drive(Read(), ['{"a": "\u00e9\u20ac"}'.encode()], headers=[("Content-Type", "application/json; charset=iso-8859-1")])
    assert seen == ['{"a": "\u00e9\u20ac"}']


class _UpperText:
    def feed(self, text):
        return text.upper()

    def finish(self):
        return ""


@pytest.mark.parametrize("media_type", ["application/json; charset=iso-8859-1", "application/problem+json; charset=koi8-r"])
def test_a_json_text_stream_is_read_as_utf8_too(media_type):
    class UpperJson(Filter):
        decode_unicode = True
        filter_content_types = ("application/json", "application/problem+json")

        def stream(self, environ, headers):
            return _UpperText()

    page = '{"a": "caf\u00e9 \u20ac"}'.encode()
    for chunks in (1, len(page)):  # whole, and a byte at a time (inside each character)
        body = run_filter(UpperJson(), page, content_type=media_type, chunks=chunks)[2]
        assert body == '{"A": "CAF\u00c9 \u20ac"}'.encode()
