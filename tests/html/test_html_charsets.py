"""Pages in any charset: read as browsers read them, written back in it."""

from __future__ import annotations

import gzip

import pytest
from html_rewriters import CollectText

from dualfilter import Filter
from dualfilter.filters import Inject
from dualfilter.headers import Headers
from dualfilter.html import Rewriter, on
from dualfilter.testing import run_filter


class Mark(Rewriter):
    """Inserts an arrow, which neither latin-1 nor windows-1252 holds."""

    @on("p")
    def p(self, element, environ):
        element.append(" \u00e9\u2192")
        element.set_attribute("title", "\u2192")


class Nofollow(Rewriter):
    """Inserts ASCII only, which every charset holds."""

    @on("a")
    def a(self, element, environ):
        element.set_attribute("rel", "nofollow")


class Euro(Rewriter):
    """Inserts a euro sign, which windows-1252 holds (0x80) and latin-1 does not."""

    @on("p")
    def p(self, element, environ):
        element.append("\u20ac")


#: Bytes 0x80-0x9F, which browsers read as windows-1252 under a latin-1 label, in text and in a script.
WINDOWS_1252_BYTES = b'<p>5 \x80 \x93q\x94 caf\xe9</p><script>var euro = "\x80";</script><a href="/x">x</a>'


def test_a_latin1_page_stays_in_latin1_byte_for_byte_where_untouched():
    page = "<div>\u00e0 bient\u00f4t</div><p>caf\u00e9</p>".encode("iso-8859-1")
    status, headers, body = run_filter(Nofollow, page, content_type="text/html; charset=iso-8859-1", chunks=5)
    assert body == page
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"


def test_an_insertion_the_charset_cannot_hold_in_the_first_output_sends_the_page_as_utf8():
    # DESIGN: output stays in the page's charset when what is inserted fits, else leaves
    # as UTF-8 with the Content-Type saying so. The start is held until the first output
    # byte, so an insertion before then decides it.
    page = "<p>caf\u00e9</p><div>\u00e0 bient\u00f4t</div>".encode("iso-8859-1")
    status, headers, body = run_filter(Mark, page, content_type="text/html; charset=iso-8859-1", chunks=5)
    assert body == '<p title="\u2192">caf\u00e9 \u00e9\u2192</p><div>\u00e0 bient\u00f4t</div>'.encode()
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_an_insertion_the_charset_cannot_hold_after_output_went_out_is_a_character_reference():
    # The start, and the charset it names, went out with the first output: later
    # insertions that do not fit are written as references HTML reads back.
    page = "<div>\u00e0 bient\u00f4t</div>".encode("iso-8859-1") + b" " * 2000 + b"<p>caf\xe9</p>"
    status, headers, body = run_filter(Mark, page, content_type="text/html; charset=iso-8859-1", chunks=4)
    assert body == page.replace(b"<p>caf\xe9</p>", '<p title="&#8594;">caf\u00e9 \u00e9&#8594;</p>'.encode("iso-8859-1"))
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"


class _Upper(Filter):
    """A text stream after a rewriter: reads the page in the charset the stage before left it in."""

    decode_unicode = True

    def stream(self, environ, headers):
        return _UpperText()


class _UpperText:
    def feed(self, text):
        return text.upper()

    def finish(self):
        return ""


class _Seen(Rewriter):
    """Records the text it sees (what the stage before inserted, as characters)."""

    def __init__(self, app=None, **options):
        super().__init__(app, **options)
        self.seen = []

    @on.text("p")
    def p(self, text, environ):
        self.seen.append(text.text)


@pytest.mark.parametrize("chunks", [1, 2, 5])
@pytest.mark.parametrize("outer", [Mark, _Upper, _Seen], ids=["rewriter", "text-stream", "text-handler"])
def test_a_chain_whose_inner_rewriter_leaves_as_utf8_gives_the_bytes_of_nesting_them(outer, chunks):
    # The inner stage's output leaves as UTF-8 (what it inserted does not fit latin-1): the outer
    # reads it so, as it reads the Content-Type the inner middleware sends when nested.
    from dualfilter import chain
    from tests.chain.nesting import run_nested

    page = "<p>caf\u00e9</p>".encode("iso-8859-1")
    content_type = "text/html; charset=iso-8859-1"
    nested_outer, chained_outer = outer(), outer()
    nested = run_nested([nested_outer, Mark()], page, content_type=content_type, chunks=chunks)
    chained = run_filter(chain(chained_outer, Mark()), page, content_type=content_type, chunks=chunks)
    assert chained == nested
    assert dict(chained[1])["Content-Type"] == "text/html; charset=utf-8"
    if outer is _Seen:
        assert "".join(chained_outer.seen) == "".join(nested_outer.seen) == "caf\u00e9 \u00e9\u2192"


@pytest.mark.parametrize("label", ["iso-8859-1", "latin1", "us-ascii"])
def test_a_latin1_or_ascii_labelled_page_keeps_its_bytes_above_0x7f_where_untouched(label):
    body = run_filter(Nofollow, WINDOWS_1252_BYTES, content_type=f"text/html; charset={label}", chunks=3)[2]
    assert body == WINDOWS_1252_BYTES.replace(b'<a href="/x">', b'<a href="/x" rel="nofollow">')


def test_buffered_a_latin1_labelled_page_with_bytes_0x80_to_0x9f_stays_in_its_charset():
    status, headers, body = run_filter(
        Nofollow,
        gzip.compress(WINDOWS_1252_BYTES),
        content_type="text/html; charset=iso-8859-1",
        headers=[("Content-Encoding", "gzip")],
    )
    assert gzip.decompress(body) == WINDOWS_1252_BYTES.replace(b'<a href="/x">', b'<a href="/x" rel="nofollow">')
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"


def test_buffered_a_euro_sign_inserted_into_a_page_that_fits_strict_latin1_leaves_as_utf8():
    status, headers, body = run_filter(
        Euro,
        gzip.compress(b"<p>caf\xe9</p>"),
        content_type="text/html; charset=iso-8859-1",
        headers=[("Content-Encoding", "gzip")],
    )
    assert gzip.decompress(body) == "<p>caf\u00e9\u20ac</p>".encode()
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_a_euro_sign_inserted_into_a_latin1_labelled_page_is_its_windows_1252_byte():
    assert run_filter(Euro, b"<p>5</p>", content_type="text/html; charset=iso-8859-1")[2] == b"<p>5\x80</p>"


def test_handlers_get_the_text_decoded_from_the_page_charset():
    seen: list[str] = []
    run_filter(CollectText(seen=seen), "<p>\u20ac\u00e9</p>".encode("cp1252"), content_type="text/html; charset=windows-1252")
    assert seen == ["\u20ac\u00e9"]


def test_a_multibyte_charset_split_anywhere_comes_out_whole():
    page = "<p>\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8</p>".encode("shift_jis")
    expected = run_filter(CollectText(seen=[]), page, content_type="text/html; charset=shift_jis")[2]
    for chunks in range(2, len(page)):
        assert run_filter(CollectText(seen=[]), page, content_type="text/html; charset=shift_jis", chunks=chunks)[2] == expected
    assert expected == "<p>[\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8]</p>".encode("shift_jis")


def test_a_meta_charset_is_found_when_the_header_has_none():
    page = '<meta charset="windows-1252"><p>\u20ac</p>'.encode("cp1252")
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), page, content_type="text/html", chunks=4)[2]
    assert seen == ["\u20ac"]
    assert body == '<meta charset="windows-1252"><p>[\u20ac]</p>'.encode("cp1252")


def test_an_undeclared_page_that_is_not_utf8_is_read_and_written_back_as_windows_1252():
    # As charsets.decode reads it: windows-1252 maps every byte, so nothing is lost.
    status, headers, body = run_filter(Euro, b"<p>caf\xe9 \x93q\x94</p>", content_type="text/html", chunks=3)
    assert body == b"<p>caf\xe9 \x93q\x94\x80</p>"
    assert dict(headers)["Content-Type"] == "text/html"


def test_handlers_read_an_undeclared_page_that_is_not_utf8_as_windows_1252():
    seen: list[str] = []
    run_filter(CollectText(seen=seen), b"<p>\x80caf\xe9</p>", content_type="text/html")
    assert seen == ["\u20accaf\u00e9"]


def test_an_insertion_windows_1252_cannot_hold_sends_an_undeclared_non_utf8_page_as_utf8():
    status, headers, body = run_filter(Mark, b"<p>caf\xe9</p>", content_type="text/html")
    assert body == '<p title="\u2192">caf\u00e9 \u00e9\u2192</p>'.encode()
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_an_undeclared_page_whose_first_bytes_are_utf8_stays_utf8_with_a_character_cut_at_their_end():
    page = b"<p>" + "\u00e9".encode() * 600 + b"</p>"
    stream = Euro().stream({}, Headers([("Content-Type", "text/html")]))
    out = stream.feed(page[:1026])  # 1024 bytes and more, ending inside an "\u00e9"
    out += stream.feed(page[1026:]) + stream.finish()
    assert out == page.replace(b"</p>", "\u20ac</p>".encode())


@pytest.mark.parametrize("pieces", [[0], [1024], [1500], [700, 1400], [1503]])
def test_an_undeclared_page_is_read_alike_however_the_app_chunked_it(pieces):
    # Its first 1024 bytes decide (UTF-8 here), not the first chunk, however long that is.
    page = b"<p>" + b"a" * 1500 + b"</p><p>caf\xe9</p>"
    cuts = [0, *[cut for cut in pieces if cut], len(page)]
    stream = Euro().stream({}, Headers([("Content-Type", "text/html")]))
    out = b"".join(stream.feed(page[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)) + stream.finish()
    whole = Euro().stream({}, Headers([("Content-Type", "text/html")]))
    assert out == whole.feed(page) + whole.finish()
    assert out.endswith(b"</p><p>caf\xe9\xe2\x82\xac</p>")  # read as UTF-8: the euro sign in it, the stray byte as it came


def test_a_utf16_page_with_a_byte_order_mark_is_read_and_written_in_utf16():
    page = "<p>\u00e9t\u00e9</p>".encode("utf-16")
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), page, content_type="text/html", chunks=3)[2]
    assert seen == ["\u00e9t\u00e9"]
    assert body.decode("utf-16") == "<p>[\u00e9t\u00e9]</p>"


def test_a_utf8_byte_order_mark_and_invalid_bytes_pass_through_untouched():
    page = b"\xef\xbb\xbf<div>\xff\xfe bytes</div><p>x</p>"
    expected = b'\xef\xbb\xbf<div>\xff\xfe bytes</div><p title="\xe2\x86\x92">x \xc3\xa9\xe2\x86\x92</p>'
    assert run_filter(Mark, page, chunks=3)[2] == expected


@pytest.mark.parametrize("chunks", [1, 2, 5, 100])
def test_invalid_utf8_reads_as_replacement_characters_only_in_the_text_a_text_handler_reads(chunks):
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), b"<div>\xff</div><p>\xe9</p><i>x\xe8y</i>", chunks=chunks)[2]
    assert seen == ["\ufffd"]
    assert body == b"<div>\xff</div><p>[\xef\xbf\xbd]</p><i>x\xe8y</i>"


@pytest.mark.parametrize(
    ("chunks", "content_type", "expected"),
    [
        (1, "utf-8", '<p>\uac00 ok \ufffd stray</p><a href="/" rel="nofollow">x</a>'.encode()),
        # Read after the first output went out in EUC-KR: U+FFFD as a character reference.
        (50, "euc-kr", b'<p>\xb0\xa1 ok &#65533; stray</p><a href="/" rel="nofollow">x</a>'),
    ],
)
def test_a_byte_surrogateescape_keeps_in_a_non_utf8_page_reaches_the_engine_as_a_replacement_character(
    chunks, content_type, expected
):
    # The engine reads UTF-8, which holds no lone surrogate: never a 500 for it.
    page = b'<p>\xb0\xa1 ok \x83 stray</p><a href="/">x</a>'
    flt = Nofollow(unicode_errors="surrogateescape")
    status, headers, body = run_filter(flt, page, content_type="text/html; charset=euc-kr", chunks=chunks)
    assert (status, dict(headers)["Content-Type"], body) == (200, f"text/html; charset={content_type}", expected)


class _Title(Rewriter):
    @on.text("title")
    def title(self, text, environ):
        pass


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
@pytest.mark.parametrize("chunks", [1, 3, 7, 200])
def test_invalid_utf8_outside_the_text_handlers_elements_passes_through_untouched(content_type, chunks):
    # Undeclared, the page's first 1024 bytes are ASCII: it is read as UTF-8 and stays undeclared.
    page = b"<html><head><title>Caf\xc3\xa9</title></head><body>" + b"<p>filler</p>" * 90
    page += b"<p>Caf\xe9 cr\xe8me</p><script>'\xff'</script></body></html>"
    assert run_filter(_Title, page, content_type=content_type, chunks=chunks)[2] == page


@pytest.mark.parametrize("chunks", [1, 2, 4, 9, 100])
def test_a_text_node_several_text_selectors_match_is_handled_once_by_each_handler_in_order(chunks):
    calls: list[tuple[str, str]] = []

    class Nested(Rewriter):
        @on.text("div")
        def outer(self, text, environ):
            calls.append(("outer", text.text))
            text.replace("[" + text.text + "]")

        @on.text("p")
        def inner(self, text, environ):
            calls.append(("inner", text.text))
            text.after("!")

        @on.text("div p")
        def both(self, text, environ):
            calls.append(("both", text.text))

    page = b"<div>one<p>two \xc3\xa9 \xe9</p>three</div><p>four</p><i>\xe9</i>"
    body = run_filter(Nested, page, chunks=chunks)[2]
    assert body == b"<div>[one]<p>[two \xc3\xa9 \xef\xbf\xbd]!</p>[three]</div><p>four!</p><i>\xe9</i>"
    assert calls == [
        ("outer", "one"),
        ("outer", "two \u00e9 \ufffd"),
        ("inner", "two \u00e9 \ufffd"),
        ("both", "two \u00e9 \ufffd"),
        ("outer", "three"),
        ("inner", "four"),
    ]


def test_an_unknown_charset_label_is_ignored_as_browsers_do():
    assert run_filter(Mark, b"<p>x</p>", content_type="text/html; charset=no-such-thing")[2] == (
        '<p title="\u2192">x \u00e9\u2192</p>'.encode()
    )


def test_buffered_output_the_page_charset_cannot_hold_leaves_as_utf8_and_says_so():
    page = gzip.compress("<p>caf\u00e9</p>".encode("iso-8859-1"))
    status, headers, body = run_filter(
        Mark, page, content_type="text/html; charset=iso-8859-1", headers=[("Content-Encoding", "gzip")]
    )
    assert gzip.decompress(body) == '<p title="\u2192">caf\u00e9 \u00e9\u2192</p>'.encode()
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_buffered_output_that_fits_stays_in_the_page_charset():
    page = gzip.compress("<p>caf\u00e9</p>".encode("iso-8859-1"))
    seen: list[str] = []
    status, headers, body = run_filter(
        CollectText(seen=seen), page, content_type="text/html; charset=iso-8859-1", headers=[("Content-Encoding", "gzip")]
    )
    assert gzip.decompress(body) == "<p>[caf\u00e9]</p>".encode("iso-8859-1")
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"


def every_character(codec, leads, trails):
    """Each sequence of a lead byte in ``leads`` and a trail in ``trails`` that ``codec``
    reads as one character."""
    found = []
    for lead in leads:
        for trail in trails:
            code = bytes(lead) + bytes([trail]) if isinstance(lead, tuple) else bytes([lead, trail])
            try:
                if len(code.decode(codec)) == 1:
                    found.append(code)
            except UnicodeDecodeError:
                pass
    return found


#: What an untouched page does not keep, as docs/html.md lists it: each code is one of
#: two codes of a character, and comes out as the other (for Shift_JIS the docs give
#: the codes by range, and the other code only by kind).
SHIFT_JIS_CHANGED = {
    *(bytes([0x87, trail]) for trail in (0x90, 0x91, 0x92, 0x95, 0x96, 0x97, 0x9A, 0x9B, 0x9C)),
    b"\xee\xf9",
    *(bytes([lead, trail]) for lead in (0xFA, 0xFB, 0xFC) for trail in (*range(0x40, 0x7F), *range(0x80, 0xFD))
      if lead < 0xFC or trail <= 0x4B),
}  # fmt: skip
BIG5_CHANGED = {
    b"\xa1\xfe": b"\xa2\x41", b"\xa2\x40": b"\xa2\x42", b"\xa2\x7e": b"\xf9\xfa", b"\xa2\xa1": b"\xf9\xfb",
    b"\xa2\xa2": b"\xf9\xfc", b"\xa2\xa3": b"\xf9\xfd", b"\xa2\xa4": b"\xf9\xf9", b"\xa2\xa5": b"\xf9\xe9",
    b"\xa2\xa6": b"\xf9\xea", b"\xa2\xa7": b"\xf9\xeb", b"\xa2\xcc": b"\xa4\x51", b"\xa2\xce": b"\xa4\xca",
}  # fmt: skip
EUC_JP_CHANGED = {b"\x8f\xa2\xb7": b"\x7e"}


@pytest.mark.parametrize(
    ("label", "codes", "changed"),
    [
        ("shift_jis", every_character("cp932", range(0x81, 0x100), range(0x40, 0x100)), None),
        ("big5", every_character("big5hkscs", range(0x81, 0x100), range(0x40, 0x100)), BIG5_CHANGED),
        ("euc-jp", every_character("euc_jp", [*range(0x8E, 0x100), *((0x8F, n) for n in range(0xA1, 0xFF))], range(0xA1, 0xFF)),
         EUC_JP_CHANGED),
    ],
    ids=["shift_jis", "big5", "euc-jp"],
)  # fmt: skip
def test_an_untouched_multibyte_page_changes_only_the_listed_duplicate_codes(label, codes, changed):
    page = b"<p>" + b" ".join(codes) + b"</p>"
    body = run_filter(Nofollow, page, content_type=f"text/html; charset={label}", chunks=7)[2]
    assert body.startswith(b"<p>") and body.endswith(b"</p>")
    out = dict(zip(codes, body[3:-4].split(b" "), strict=True))
    differing = {code: written for code, written in out.items() if written != code}
    if changed is None:  # Shift_JIS: the other code of the same character, for each listed one
        assert set(differing) == SHIFT_JIS_CHANGED
        assert all(written.decode("cp932") == code.decode("cp932") for code, written in differing.items())
    else:
        assert differing == changed


def test_an_untouched_iso_2022_jp_page_changes_only_its_escape_sequences():
    page = b"<p>\x1b$@F|K\\\x1b(B \x1b(J\\\x1b(B</p>"  # JIS C 6226 (ESC $ @) and JIS X 0201 Roman (ESC ( J)
    body = run_filter(Nofollow, page, content_type="text/html; charset=iso-2022-jp", chunks=3)[2]
    assert body == b"<p>\x1b$BF|K\\\x1b(B \x1b(J\\\x1b(B</p>"
    assert body.decode("iso2022_jp") == page.decode("iso2022_jp")


XHTML_LATIN1 = (
    '<?xml version="1.0" encoding="iso-8859-1"?><html xmlns="http://www.w3.org/1999/xhtml">'
    "<head><title>t</title></head><body><p>caf\u00e9</p></body></html>"
).encode("iso-8859-1")
XHTML = "application/xhtml+xml"


def test_an_xhtml_page_that_leaves_as_utf8_has_its_xml_declaration_name_utf8():
    # Read without its Content-Type (saved to disk, an XML parser), the page is read as its
    # declaration says: it must name the charset the bytes are now in.
    status, headers, body = run_filter(Mark, XHTML_LATIN1, content_type=f"{XHTML}; charset=iso-8859-1")
    assert dict(headers)["Content-Type"] == f"{XHTML}; charset=utf-8"
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><html')
    assert '<p title="\u2192">caf\u00e9 \u00e9\u2192</p>' in body.decode("utf-8")


def test_buffered_an_xhtml_page_that_leaves_as_utf8_has_its_xml_declaration_name_utf8():
    status, headers, body = run_filter(
        Euro, gzip.compress(XHTML_LATIN1), content_type=f"{XHTML}; charset=iso-8859-1", headers=[("Content-Encoding", "gzip")]
    )
    assert dict(headers)["Content-Type"] == f"{XHTML}; charset=utf-8"
    page = gzip.decompress(body)
    assert page.startswith(b'<?xml version="1.0" encoding="utf-8"?>') and "caf\u00e9\u20ac</p>".encode() in page


@pytest.mark.parametrize("content_type", [f"{XHTML}; charset=iso-8859-1", XHTML], ids=["header", "declaration"])
@pytest.mark.parametrize("chunks", [1, 3, 9, 40])
def test_inject_into_xhtml_that_leaves_as_utf8_names_utf8_in_its_declaration_however_the_page_is_cut(content_type, chunks):
    # 40 chunks cut the declaration itself: its start is held until it is whole.
    inject = Inject(html="<b>\u2192</b>", filter_content_types=(XHTML,))
    status, headers, body = run_filter(inject, XHTML_LATIN1, content_type=content_type, chunks=chunks)
    assert dict(headers)["Content-Type"] == f"{XHTML}; charset=utf-8"
    assert body == XHTML_LATIN1.decode("iso-8859-1").replace("iso-8859-1", "utf-8").replace(
        "</body>", "<b>\u2192</b></body>"
    ).encode("utf-8")


def test_an_xhtml_page_that_stays_in_its_charset_keeps_its_declaration_byte_for_byte():
    status, headers, body = run_filter(Nofollow, XHTML_LATIN1, content_type=f"{XHTML}; charset=iso-8859-1", chunks=40)
    assert (dict(headers)["Content-Type"], body) == (f"{XHTML}; charset=iso-8859-1", XHTML_LATIN1)
