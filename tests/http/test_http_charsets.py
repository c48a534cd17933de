"""Charsets as browsers read them: BOM, then header, then document, then default;
a filter that returns the text unchanged changes neither the bytes nor the charset."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualfilter import Filter
from dualfilter.charsets import _LABELS
from dualfilter.headers import get_header
from dualfilter.testing import run_filter

#: Every label of the WHATWG Encoding standard, and labels only Python knows.
WHATWG_LABELS = sorted(label for labels in _LABELS.values() for label in labels)
PYTHON_ONLY_LABELS = ["latin-1", "utf-32", "utf-32-be", "utf-7", "cp437", "iso2022_kr", "hz", "mac-greek"]
BOMS = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]


class Same(Filter):
    """Returns the text it is given, recording what it saw."""

    decode_unicode = True
    filter_content_types = ("text/*", "application/xml")

    def __init__(self, app=None, **options):
        super().__init__(app, **options)
        self.seen = []

    def filter(self, environ, headers, data):
        self.seen.append(data)
        return data


class SameStream(Filter):
    """The unchanged text, chunk by chunk."""

    decode_unicode = True
    filter_content_types = ("text/*",)

    def stream(self, environ, headers):
        return Echo()


class Echo:
    def feed(self, text):
        return text

    def finish(self):
        return ""


class Upper(Filter):
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.upper()


class AddZhe(Filter):
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data + "\u0436"


def seen(body: bytes, content_type: str) -> str:
    flt = Same()
    status = run_filter(flt, body, content_type=content_type)[0]
    assert status == 200
    return flt.seen[0]


def content_type(headers) -> str | None:
    return get_header(headers, "content-type")


# -- the order: BOM, header, document, default ------------------------------------------------


def test_a_byte_order_mark_wins_over_the_header_charset():
    assert seen(codecs.BOM_UTF8 + "caf\u00e9".encode(), "text/html; charset=iso-8859-1") == "caf\u00e9"


def test_a_utf16_byte_order_mark_wins_over_the_header_charset():
    assert seen(codecs.BOM_UTF16_BE + "caf\u00e9".encode("utf-16-be"), "text/html; charset=utf-8") == "caf\u00e9"


def test_a_utf32_byte_order_mark_is_not_one_browsers_honour():
    body = codecs.BOM_UTF32_LE + "a".encode("utf-32-le")
    assert seen(body, "text/html") == "\x00a\x00"  # the rest of the mark and the text, read as UTF-16LE


def test_the_header_charset_wins_over_a_meta_charset():
    body = '<meta charset="utf-8"><p>\u00e9</p>'.encode("cp1252")
    assert seen(body, "text/html; charset=windows-1252").endswith("<p>\u00e9</p>")


def test_a_meta_charset_inside_a_comment_is_not_read():
    body = '<!-- <meta charset="koi8-r"> --><p>\u00e9</p>'.encode()
    assert seen(body, "text/html").endswith("<p>\u00e9</p>")


def test_a_meta_charset_past_the_first_1024_bytes_is_not_read():
    body = b" " * 1024 + '<meta charset="koi8-r"><p>\u00e9</p>'.encode()
    assert seen(body, "text/html").endswith("<p>\u00e9</p>")


def test_a_meta_label_browsers_do_not_know_is_ignored():
    assert seen('<meta charset="no-such-label"><p>\u00e9</p>'.encode(), "text/html").endswith("<p>\u00e9</p>")


def test_a_meta_charset_naming_utf16_means_utf8():
    assert seen('<meta charset="utf-16"><p>\u00e9</p>'.encode(), "text/html").endswith("<p>\u00e9</p>")


def test_an_xml_declaration_names_the_charset_of_an_xml_body():
    body = '<?xml version="1.0" encoding="koi8-r"?><r>\u0436</r>'.encode("koi8-r")
    assert seen(body, "application/xml").endswith("<r>\u0436</r>")


def test_undeclared_bytes_that_are_not_utf8_read_as_windows_1252_does_in_browsers():
    assert seen(b"\x93caf\xe9\x94 \x80 \x81", "text/html") == "\u201ccaf\u00e9\u201d \u20ac \x81"


# -- labels as the Encoding standard maps them ----------------------------------------------------


@pytest.mark.parametrize("label", ["iso-8859-1", "ISO_8859-1", "latin1", "l1", "us-ascii", "ascii", "windows-1252"])
def test_latin1_and_ascii_labels_read_bytes_0x80_to_0x9f_as_windows_1252(label):
    assert seen(b"\x80 \x93q\x94 \x99", f"text/plain; charset={label}") == "\u20ac \u201cq\u201d \u2122"


def test_the_five_bytes_windows_1252_leaves_unassigned_read_as_c1_controls():
    assert seen(b"\x81\x8d\x8f\x90\x9d", "text/plain; charset=iso-8859-1") == "\x81\x8d\x8f\x90\x9d"


def test_the_utf16_label_means_little_endian_without_a_mark():
    assert seen("h\u00e9".encode("utf-16-le"), "text/plain; charset=utf-16") == "h\u00e9"


def test_a_label_only_python_knows_decodes_with_pythons_codec():
    assert seen(b"\x80\xe9", "text/plain; charset=latin-1") == "\x80\u00e9"


def test_a_label_nobody_knows_gives_the_500():
    assert run_filter(Same(), b"a", content_type="text/plain; charset=klingon")[0] == 500


# -- writing back -----------------------------------------------------------------------------------


ISO_8859_1_LABELS = ["iso-8859-1", "latin1", "l1", "cp819", "ibm819", "csisolatin1", "iso-ir-100", "iso_8859-1:1987"]


@pytest.mark.parametrize("label", ISO_8859_1_LABELS + ["us-ascii", "windows-1252"])
def test_unchanged_text_keeps_bytes_0x80_to_0x9f_and_the_label(label):
    body = b"<p>\x80\x93caf\xe9\x94\x81</p>"
    status, headers, out = run_filter(Same(), body, content_type=f"text/html; charset={label}")
    assert (status, out, content_type(headers)) == (200, body, f"text/html; charset={label}")


@pytest.mark.parametrize("label", ISO_8859_1_LABELS)
def test_changed_text_under_a_latin1_label_with_windows_1252_characters_leaves_as_declared_utf8(label):
    status, headers, out = run_filter(Upper(), b"<p>\x80 caf\xe9</p>", content_type=f"text/html; charset={label}")
    assert out == "<P>\u20ac CAF\u00c9</P>".encode()
    assert content_type(headers) == "text/html; charset=utf-8"


def test_changed_text_a_latin1_label_holds_alike_for_every_client_keeps_the_label():
    status, headers, out = run_filter(Upper(), b"<p>caf\xe9</p>", content_type="text/html; charset=iso-8859-1")
    assert (out, content_type(headers)) == (b"<P>CAF\xc9</P>", "text/html; charset=iso-8859-1")


@pytest.mark.parametrize("label", ["us-ascii", "ascii", "ANSI_X3.4-1968"])
def test_changed_text_under_an_ascii_label_with_non_ascii_leaves_as_declared_utf8(label):
    status, headers, out = run_filter(Upper(), b"<p>caf\xe9</p>", content_type=f"text/html; charset={label}")
    assert (out, content_type(headers)) == ("<P>CAF\u00c9</P>".encode(), "text/html; charset=utf-8")


def test_changed_text_after_a_contradicting_byte_order_mark_keeps_the_mark_and_the_header():
    body = codecs.BOM_UTF8 + "<p>caf\u00e9</p>".encode()
    status, headers, out = run_filter(Upper(), body, content_type="text/html; charset=iso-8859-1")
    assert out == codecs.BOM_UTF8 + "<P>CAF\u00c9</P>".encode()
    assert content_type(headers) == "text/html; charset=iso-8859-1"


def test_changed_undeclared_utf8_with_non_ascii_is_declared_utf8():
    status, headers, out = run_filter(Upper(), "<p>caf\u00e9</p>".encode(), content_type="text/html")
    assert (out, content_type(headers)) == ("<P>CAF\u00c9</P>".encode(), "text/html; charset=utf-8")


def test_changed_undeclared_text_that_stays_ascii_gets_no_charset():
    status, headers, out = run_filter(Upper(), b"<p>cafe</p>", content_type="text/html")
    assert (out, content_type(headers)) == (b"<P>CAFE</P>", "text/html")


def test_changed_undeclared_bytes_that_are_not_utf8_stay_in_their_bytes_undeclared():
    status, headers, out = run_filter(Upper(), b"<p>\x93caf\xe9\x94</p>", content_type="text/html")
    assert (out, content_type(headers)) == (b"<P>\x93CAF\xc9\x94</P>", "text/html")


def test_undeclared_text_the_fallback_cannot_hold_leaves_as_declared_utf8():
    status, headers, out = run_filter(AddZhe(), b"caf\xe9\x81", content_type="text/html")
    assert (out, content_type(headers)) == ("caf\u00e9\x81\u0436".encode(), "text/html; charset=utf-8")


# -- the identity rule, for any bytes and any label ----------------------------------------------

META_TAGS = [b"", b'<meta charset="windows-1252">', b'<meta charset="shift_jis">', b"<!-- <meta charset=koi8-r> -->"]


def bodies() -> st.SearchStrategy[bytes]:
    meta = st.sampled_from(META_TAGS)
    return st.builds(lambda mark, tag, rest: mark + tag + rest, st.sampled_from(BOMS), meta, st.binary(max_size=64))


LABELS = st.one_of(st.none(), st.sampled_from(WHATWG_LABELS), st.sampled_from(PYTHON_ONLY_LABELS))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), label=LABELS, media_type=st.sampled_from(["text/html", "text/plain", "application/xml"]))
def test_unchanged_text_is_byte_identical_with_the_same_content_type_for_any_bytes_and_label(body, label, media_type):
    given_type = media_type if label is None else f"{media_type}; charset={label}"
    status, headers, out = run_filter(Same(unicode_errors="replace"), body, content_type=given_type)
    assert (status, out, content_type(headers)) == (200, body, given_type)


@settings(max_examples=300, deadline=None)
@given(mark=st.sampled_from(BOMS), tag=st.sampled_from(META_TAGS), rest=st.binary(max_size=64), label=LABELS)
def test_unchanged_text_under_strict_decoding_is_byte_identical_or_the_500_of_a_charset_the_bytes_break(mark, tag, rest, label):
    body = mark + tag + rest
    given_type = "text/html" if label is None else f"text/html; charset={label}"
    status, headers, out = run_filter(Same(), body, content_type=given_type)
    if status == 200:
        assert (out, content_type(headers)) == (body, given_type)
    else:
        assert status == 500
        named = label is not None or mark[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or mark == codecs.BOM_UTF8
        assert named or tag == b'<meta charset="shift_jis">', "the default, with nothing named, loses no byte"


#: Labels of every encoding the standard defines (one each), for streamed text.
ONE_LABEL_EACH = sorted(labels[0] for name, labels in _LABELS.items())


@settings(max_examples=300, deadline=None)
@given(
    label=st.sampled_from(ONE_LABEL_EACH + ["iso-8859-1", "us-ascii", "latin-1"]),
    text=st.text(max_size=40),
    mark=st.sampled_from(BOMS[:4]),
    chunks=st.integers(1, 6),
)
def test_an_unchanging_stream_is_byte_identical_with_the_same_content_type(label, text, mark, chunks):
    from dualfilter import charsets

    codec = charsets.bom(mark) if mark else charsets.lookup(label)
    try:
        body = mark + text.encode(charsets.STREAM_CODEC.get(codec, codec))
    except UnicodeEncodeError:
        return  # text this charset cannot hold is not a page in it
    given_type = f"text/plain; charset={label}"
    status, headers, out = run_filter(SameStream(), body, content_type=given_type, chunks=chunks)
    assert (status, out, content_type(headers)) == (200, body, given_type)


#: Bodies under labels browsers lack, whose Python codecs read or write a byte order mark of their own,
#: and under a codec that shifts modes (bytes that do not end in ASCII mode; a redundant escape).
PYTHON_CODEC_BODIES = [
    ("utf-32", "<p>h\u00e9</p>".encode("utf-32-le")),
    ("utf-32", codecs.BOM_UTF32_BE + "<p>h\u00e9</p>".encode("utf-32-be")),
    ("utf16", "<p>h\u00e9</p>".encode("utf-16-le")),
    ("utf-8-sig", codecs.BOM_UTF8 + "<p>h\u00e9</p>".encode()),
    ("utf-8-sig", "<p>h\u00e9</p>".encode()),
    ("iso-2022-jp", b"<p>a\x1b$B\x1b(Bb\x1b$BF|K\\"),
]


@pytest.mark.parametrize(("label", "body"), PYTHON_CODEC_BODIES)
@pytest.mark.parametrize("flt", [SameStream, Same], ids=["streamed", "buffered"])
@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_unchanged_text_under_a_python_codec_that_writes_marks_or_shifts_modes_is_byte_identical(flt, label, body, chunks):
    status, headers, out = run_filter(flt(), body, content_type=f"text/html; charset={label}", chunks=chunks)
    assert (status, out) == (200, body)
    assert get_header(headers, "content-type") == f"text/html; charset={label}"


@pytest.mark.parametrize(("label", "body"), PYTHON_CODEC_BODIES[:3])
def test_a_rewriter_reads_a_utf32_or_utf16_body_without_a_mark_and_writes_it_back_in_its_byte_order(label, body):
    from dualfilter.filters import Inject

    codec = "utf-32-be" if body.startswith(codecs.BOM_UTF32_BE) else label.replace("16", "-16").replace("--", "-") + "-le"
    status, _, out = run_filter(Inject(html="<b>!</b>"), body, content_type=f"text/html; charset={label}", chunks=3)
    assert status == 200
    assert out.decode(codec).lstrip("\ufeff") == "<p>h\u00e9</p><b>!</b>"


def test_xhtml_is_xml_a_meta_charset_means_nothing_there():
    # HTML standard: a meta charset "has no effect in XML documents"; XHTML is read by BOM, header, declaration, UTF-8.
    page = '<html xmlns="http://www.w3.org/1999/xhtml"><head><meta charset="iso-8859-2"/></head><body>\u0142</body></html>'
    filter_ = Same(filter_content_types=("application/xhtml+xml",))
    status, headers, body = run_filter(filter_, page.encode(), content_type="application/xhtml+xml")
    assert (status, body) == (200, page.encode()) and filter_.seen == [page]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_xml_in_utf16_without_a_mark_is_read_as_utf16_by_its_declaration(codec):
    text = '<?xml version="1.0"?><a>\u00e9</a>'
    filter_ = Same()
    status, _, body = run_filter(filter_, text.encode(codec), content_type="application/xml")
    assert (status, body, filter_.seen) == (200, text.encode(codec), [text])


@pytest.mark.parametrize(
    ("body", "codec"),
    [
        (codecs.BOM_UTF32_BE + "<p>caf\u00e9</p>".encode("utf-32-be"), "utf-32-be"),
        ("<p>caf\u00e9</p>".encode("utf-32-le"), "utf-32-le"),
        ("<p>caf\u00e9</p>".encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_changed_text_under_utf32_or_utf16_labels_keeps_the_bodys_byte_order_and_mark(body, codec):
    label = "utf16" if "16" in codec else "utf-32"
    status, headers, out = run_filter(Upper(), body, content_type=f"text/html; charset={label}")
    assert (status, out) == (200, body.decode(codec).upper().encode(codec))
    assert dict(headers)["Content-Type"] == f"text/html; charset={label}"


@pytest.mark.parametrize("flt", [Upper, "stream"], ids=["buffered", "streamed"])
def test_a_byte_kept_by_surrogateescape_goes_back_as_it_came(flt):
    class UpperText:
        def feed(self, text):
            return text.upper()

        def finish(self):
            return ""

    class UpperStream(Filter):
        decode_unicode = True

        def stream(self, environ, headers):
            return UpperText()

    filter_ = (UpperStream if flt == "stream" else Upper)(unicode_errors="surrogateescape")
    status, _, out = run_filter(filter_, b"<p>caf\xff</p>", content_type="text/html; charset=utf-8")
    assert (status, out) == (200, b"<P>CAF\xff</P>")


@pytest.mark.parametrize("suffix", ["", "!"], ids=["unchanged", "changed"])
def test_a_filter_that_declares_another_charset_gets_its_text_written_in_it(suffix):
    # The bytes must be what the Content-Type says: the filter's header wins over the page's charset.
    class ToUTF8(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            headers["Content-Type"] = "text/html; charset=utf-8"
            return data + suffix

    page = "<p>\u0141\u00f3d\u017a</p>"
    status, headers, body = run_filter(ToUTF8(), page.encode("iso-8859-2"), content_type="text/html; charset=iso-8859-2")
    assert (status, body) == (200, (page + suffix).encode("utf-8"))
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"
