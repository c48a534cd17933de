"""gbk and gb18030 (dualfilter.gb18030), read and written as the Encoding standard has browsers do."""

from __future__ import annotations

import codecs

import pytest

from dualfilter import charsets
from tests.support.filters import Identity, Rot13

from .conftest import decoded, drive

EURO_PAGE = "<p>\u4ef7\u683c ".encode("gbk") + b"\x805</p>"  # 0x80: the euro sign, as every browser reads it


@pytest.mark.parametrize("label", ["gbk", "gb18030", "GB2312"])
def test_byte_0x80_under_a_gbk_or_gb18030_label_is_the_euro_sign(label):
    assert decoded(EURO_PAGE, f"text/html; charset={label}") == "<p>\u4ef7\u683c \u20ac5</p>"


@pytest.mark.parametrize("label", ["gbk", "gb18030"])
def test_an_unchanged_page_with_byte_0x80_keeps_its_bytes(label):
    assert drive(Identity(), [EURO_PAGE], headers=[("Content-Type", f"text/html; charset={label}")])[3] == EURO_PAGE


@pytest.mark.parametrize(("label", "euro"), [("gbk", b"\x80"), ("gb18030", b"\xa2\xe3")])
def test_changed_text_writes_the_euro_sign_as_the_labels_encoder_does(label, euro):
    page = EURO_PAGE.replace(b"5</p>", b"a</p>")
    out = drive(Rot13(), [page], headers=[("Content-Type", f"text/html; charset={label}")])[3]
    assert out == page.replace(b"\x80a", euro + b"n")


def test_a_rewriter_keeps_the_euro_byte_of_a_gbk_page():
    from dualfilter.html import Rewriter, on
    from dualfilter.testing import run_filter

    class Mark(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.set_attribute("class", "x")

    status, headers, body = run_filter(Mark, EURO_PAGE, content_type="text/html; charset=gbk")
    assert (status, body) == (200, EURO_PAGE.replace(b"<p>", b'<p class="x">'))


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\xa3\xa0", "\u3000"),
        (b"\xa6\xd9", "\ufe10"),
        (b"\xfe\x59", "\u9fb4"),
        (b"\xa8\xbc", "\u1e3f"),
        (b"\x81\x35\xf4\x37", "\ue7c7"),
    ],
)
def test_gb18030_bytes_python_maps_otherwise_decode_as_the_encoding_standard_maps_them(data, text):
    assert data.decode(charsets.lookup("gb18030")) == text


@pytest.mark.parametrize(
    ("text", "data"), [("\ufe10", b"\xa6\xd9"), ("\u9fb4", b"\xfe\x59"), ("\u1e3f", b"\xa8\xbc"), ("\ue7c7", b"\x81\x35\xf4\x37")]
)
def test_gb18030_writes_characters_as_the_bytes_the_encoding_standard_reads_back_as_them(text, data):
    assert text.encode(charsets.lookup("gb18030")) == data


def test_gb18030_cannot_write_u_e5e5_which_no_bytes_decode_to():
    with pytest.raises(UnicodeEncodeError):
        "\ue5e5".encode(charsets.lookup("gb18030"))


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\x84\x31\xa5\x30z", "\ufffdz"),  # four bytes shaped right that name no character: one error
        (b"z\x81\x30\x20", "z\ufffd0 "),  # the bytes after a broken lead byte are read again
        (b"\x81\xffz", "\ufffdz"),
    ],
)
def test_broken_gb18030_bytes_read_under_replace_as_the_encoding_standard_reads_them(data, text):
    assert data.decode(charsets.lookup("gbk"), "replace") == text


@pytest.mark.parametrize(("data", "text"), [(b"a\x80b", "a\u20acb"), (b"x\xd5\x33\x37", "x\ufffd37")])
def test_gb18030_read_in_pieces_reads_as_the_encoding_standard_reads_it(data, text):
    for cut in range(len(data) + 1):
        decoder = codecs.getincrementaldecoder(charsets.lookup("gb18030"))("replace")
        assert decoder.decode(data[:cut]) + decoder.decode(data[cut:]) + decoder.decode(b"", True) == text, cut
