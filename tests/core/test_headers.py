"""Headers after filtering describe the new body."""

from __future__ import annotations

import pytest

from dualfilter import Filter
from tests.support.filters import Upper

from .conftest import drive


def test_content_length_is_recomputed():
    headers = [("Content-Type", "text/html"), ("Content-Length", "3")]
    out = drive(Upper(), [b"abc"], headers=headers)[2]
    assert out.count(("Content-Length", "3")) == 1


def test_content_length_follows_a_longer_body():
    class Double(Filter):
        def filter(self, environ, headers, data):
            return data * 2

    out, body = drive(Double(), [b"abc"], headers=[("Content-Type", "text/html"), ("Content-Length", "3")])[2:]
    assert ("Content-Length", "6") in out and body == b"abcabc"


@pytest.mark.parametrize("name", ["Transfer-Encoding", "ETag", "Content-MD5", "Accept-Ranges", "Connection", "Keep-Alive"])
def test_headers_bound_to_the_old_body_or_the_connection_are_dropped(name):
    headers = [("Content-Type", "text/html"), (name, "x")]
    out = drive(Upper(), [b"a"], headers=headers)[2]
    assert name.lower() not in {k.lower() for k, v in out}


def test_other_headers_keep_their_order_and_case():
    headers = [("Content-Type", "text/html"), ("X-One", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    out = drive(Upper(), [b"a"], headers=headers)[2]
    assert out[:4] == headers


def test_headers_changed_by_the_filter_are_what_the_client_gets():
    class Tagging(Filter):
        def filter(self, environ, headers, data):
            headers["X-Filtered"] = "yes"
            del headers["X-Secret"]
            return data

    out = drive(Tagging(), [b"a"], headers=[("Content-Type", "text/html"), ("X-Secret", "s")])[2]
    assert ("X-Filtered", "yes") in out
    assert all(k != "X-Secret" for k, v in out)


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: evil=1", "a\nb", "caf\u00e9\u20ac", "nul\0"])
def test_a_header_value_that_could_split_the_header_block_gives_a_500(value, caplog):
    class Injecting(Filter):
        def filter(self, environ, headers, data):
            headers["X-Echo"] = value
            return data

    machine, status, out, body = drive(Injecting(), [b"a"])
    assert status == 500
    assert all(k != "X-Echo" for k, v in out)
    assert "Injecting failed" in caplog.text


@pytest.mark.parametrize("entry", ["X-Note: added", ("X-Note", "a", "b"), ("Content-Encoding",), ("X-Note", 1)])
@pytest.mark.parametrize("decode_unicode", [False, True])
def test_a_malformed_entry_in_the_header_list_gives_a_500(entry, decode_unicode, caplog):
    class Appending(Filter):
        def filter(self, environ, headers, data):
            headers.list.append(entry)  # what headers["X-Note"] = "added" would have done right
            return data

    machine, status, out, body = drive(Appending(decode_unicode=decode_unicode), [b"a"])
    assert status == 500
    assert "Appending failed" in caplog.text


def test_an_apps_header_entries_given_as_lists_pass_a_filter_that_edits_the_headers():
    # PEP 3333 asks for tuples, but servers take lists of two (waitress does): so does the filter.
    class Tagging(Filter):
        def filter(self, environ, headers, data):
            headers["X-Filtered"] = "yes"
            return data.upper()

    machine, status, out, body = drive(Tagging(), [b"<p>a</p>"], headers=[["Content-Type", "text/html"]])
    assert (status, body) == (200, b"<P>A</P>")
    assert ("X-Filtered", "yes") in out
