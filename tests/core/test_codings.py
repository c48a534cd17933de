"""Compressed responses are decoded, filtered and re-encoded with the same coding."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from tests.support.filters import Upper

from .conftest import drive

CODERS = {
    "gzip": (gzip.compress, gzip.decompress),
    "deflate": (zlib.compress, zlib.decompress),
    "br": (brotli.compress, brotli.decompress),
    "zstd": (zstandard.ZstdCompressor().compress, zstandard.ZstdDecompressor().decompress),
}


@pytest.mark.parametrize("coding", sorted(CODERS))
def test_a_compressed_response_is_filtered_and_recompressed(coding):
    compress, decompress = CODERS[coding]
    raw = compress(b"<p>hello</p>" * 100)
    headers = [("Content-Type", "text/html"), ("Content-Encoding", coding), ("Content-Length", str(len(raw)))]
    out_headers, body = drive(Upper(), [raw[:7], raw[7:]], headers=headers)[2:]
    assert decompress(body) == b"<P>HELLO</P>" * 100
    assert ("Content-Encoding", coding) in out_headers
    assert ("Content-Length", str(len(body))) in out_headers


def test_raw_deflate_is_accepted():
    engine = zlib.compressobj(wbits=-15)
    raw = engine.compress(b"<p>x</p>") + engine.flush()
    body = drive(Upper(), [raw], headers=[("Content-Type", "text/html"), ("Content-Encoding", "deflate")])[3]
    assert zlib.decompress(body) == b"<P>X</P>"


def test_multi_member_gzip_is_decoded_whole():
    raw = gzip.compress(b"<p>a") + gzip.compress(b"b</p>")
    body = drive(Upper(), [raw], headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")])[3]
    assert gzip.decompress(body) == b"<P>AB</P>"


def test_stacked_codings_are_undone_and_redone_in_order():
    raw = brotli.compress(gzip.compress(b"<p>x</p>"))
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip, br")]
    body = drive(Upper(), [raw], headers=headers)[3]
    assert gzip.decompress(brotli.decompress(body)) == b"<P>X</P>"


def test_identity_coding_is_no_coding():
    assert drive(Upper(), [b"x"], headers=[("Content-Type", "text/html"), ("Content-Encoding", "identity")])[3] == b"X"


def test_a_corrupt_compressed_body_gives_a_500(caplog):
    status = drive(Upper(), [b"not gzip"], headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")])[1]
    assert status == 500
    assert "not valid gzip" in caplog.text


@pytest.mark.parametrize("coding", sorted(CODERS))
def test_a_decompression_bomb_stops_at_max_buffer_size(coding):
    compress = CODERS[coding][0]
    bomb = compress(b"\0" * (8 * 1024 * 1024))
    assert len(bomb) < 64 * 1024
    status, headers, body = drive(
        Upper(max_buffer_size=1024 * 1024), [bomb], headers=[("Content-Type", "text/html"), ("Content-Encoding", coding)]
    )[1:]
    assert status == 502


def test_a_gzip_body_says_what_it_decodes_to_and_other_codings_do_not():
    from dualfilter.codings import decoded_size

    page = b"<p>x</p>" * 1000
    assert decoded_size(gzip.compress(page), ["gzip"]) == len(page)
    assert decoded_size(zlib.compress(page), ["deflate"]) is None
    assert decoded_size(gzip.compress(page), ["gzip", "br"]) is None


def test_a_gzip_body_of_several_members_says_nothing_of_its_size_when_its_trailer_cannot_describe_it():
    from dualfilter.codings import decoded_size

    page = b"<p>x</p>" * 100_000
    assert decoded_size(gzip.compress(page) + gzip.compress(b"<!-- end -->"), ["gzip"]) is None


@pytest.mark.parametrize("level", [0, 1, 9])
def test_the_size_of_one_incompressible_gzip_member_is_read_from_its_trailer(level):
    import random

    from dualfilter.codings import decoded_size

    page = random.Random(level).randbytes(300_000)
    for memory in (1, 9):
        engine = zlib.compressobj(level, zlib.DEFLATED, 31, memory)
        body = engine.compress(page) + engine.flush()
        # A member's magic inside the stream would make it a possible second member (see below).
        assert body.find(b"\x1f\x8b\x08", 10) < 0
        assert decoded_size(body, ["gzip"]) == len(page)


def test_a_gzip_body_with_a_well_compressed_member_before_the_last_says_nothing_of_its_size():
    # The last member's trailer fits the body's length, yet the first holds 10 MiB in 10 KB.
    import random

    from dualfilter.codings import decoded_size

    body = gzip.compress(b"x" * (10 << 20)) + gzip.compress(random.Random(1).randbytes(1 << 20), compresslevel=0)
    assert decoded_size(body, ["gzip"]) is None


@pytest.mark.parametrize(
    ("coding", "compress", "after"),
    [
        ("gzip", gzip.compress, b"\0" * 8),
        ("gzip", gzip.compress, b"\n"),
        ("deflate", zlib.compress, b"\n"),
        ("deflate", lambda data: (lambda engine: engine.compress(data) + engine.flush())(zlib.compressobj(wbits=-15)), b"\n\n"),
    ],
    ids=["gzip-zero-padding", "gzip-newline", "deflate-newline", "raw-deflate-newline"],
)
def test_bytes_after_the_end_of_a_compressed_stream_are_not_read_as_browsers_ignore_them(coding, compress, after):
    raw = compress(b"<p>x</p>") + after
    status, headers, body = drive(Upper(), [raw], headers=[("Content-Type", "text/html"), ("Content-Encoding", coding)])[1:]
    assert status == 200
    assert CODERS[coding][1](body) == b"<P>X</P>"
