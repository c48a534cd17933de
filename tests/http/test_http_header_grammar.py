"""Headers a filter sets follow RFC 9110: names are tokens, values hold no CTL but
HTAB; anything else is the clean 500, on the wire of every server, which stays healthy."""

from __future__ import annotations

import logging
import string

import pytest

from dualfilter import Filter, FilterError
from dualfilter.headers import check_header
from dualfilter.testing import run_filter
from tests.support.http_servers import ASGI_SERVERS, SERVING, WSGI_SERVERS, wire_get

TCHAR = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
#: Every control character a value may not hold: all but HTAB, and DEL.
FORBIDDEN_IN_VALUES = [chr(c) for c in range(0x20) if c != 0x09] + ["\x7f"]

BAD_NAMES = ["X Bad", "X:Bad", "X\u00e9", "X\tBad", "X(Bad)", "X/Bad", "X@Bad", "X\r\nEvil", ""]
BAD_VALUES = ["a\x01b", "a\x7fb", "a\r\nb", "a\nSet-Cookie: evil=1", "nul\x00", "euro \u20ac", " leading", "trailing\t"]


# -- the grammar -----------------------------------------------------------------------------------


def test_every_tchar_makes_a_valid_name():
    check_header(TCHAR, "v")


@pytest.mark.parametrize("name", BAD_NAMES + [f"X{c}Y" for c in '"(),/:;<=>?@[\\]{}'])
def test_a_name_that_is_not_a_token_is_refused(name):
    with pytest.raises(FilterError, match="invalid header name"):
        check_header(name, "v")


@pytest.mark.parametrize("char", FORBIDDEN_IN_VALUES, ids=lambda c: f"0x{ord(c):02x}")
def test_a_value_with_a_control_character_is_refused(char):
    with pytest.raises(FilterError, match="control character"):
        check_header("X-Value", f"a{char}b")


@pytest.mark.parametrize("value", ["a\tb", "a b", "", "caf\u00e9 \u00ff", "!~\x80"])
def test_htab_inner_spaces_obs_text_and_the_empty_value_are_allowed(value):
    check_header("X-Value", value)


def test_a_value_beyond_latin1_is_refused():
    with pytest.raises(FilterError, match="not latin-1"):
        check_header("X-Value", "\u20ac")


@pytest.mark.parametrize("value", [" a", "a ", "\ta", "a\t", " "])
def test_a_value_with_leading_or_trailing_whitespace_is_refused_not_stripped(value):
    with pytest.raises(FilterError, match="whitespace"):
        check_header("X-Value", value)


@pytest.mark.parametrize("part", [b"bytes", 1, None])
def test_a_name_or_value_that_is_not_a_str_is_refused(part):
    with pytest.raises(FilterError, match="is not a str"):
        check_header("X-Value", part)
    with pytest.raises(FilterError, match="is not a str"):
        check_header(part, "v")


# -- through the machine ---------------------------------------------------------------------------


class SetsHeader(Filter):
    """Sets the header the request's path names: /name/<i> or /value/<i> (/ok sets none)."""

    def filter(self, environ, headers, data):
        kind, _, index = environ["PATH_INFO"].strip("/").partition("/")
        if kind == "name":
            headers[BAD_NAMES[int(index)]] = "v"
        elif kind == "value":
            headers["X-Value"] = BAD_VALUES[int(index)]
        return data.upper()


@pytest.mark.parametrize("index", range(len(BAD_NAMES)))
def test_a_bad_name_set_by_a_filter_gives_the_clean_500(index):
    status, headers, body = run_filter(SetsHeader(), b"<p>x</p>", environ={"PATH_INFO": f"/name/{index}"})
    assert (status, body) == (500, b"Internal Server Error\n")


@pytest.mark.parametrize("index", range(len(BAD_VALUES)))
def test_a_bad_value_set_by_a_filter_gives_the_clean_500(index):
    status, headers, body = run_filter(SetsHeader(), b"<p>x</p>", environ={"PATH_INFO": f"/value/{index}"})
    assert (status, body) == (500, b"Internal Server Error\n")


# -- on the wire -----------------------------------------------------------------------------------


def wsgi_page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<p>page</p>"]


async def asgi_page(scope, receive, send):
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"<p>page</p>"})


@pytest.fixture(scope="module", params=ASGI_SERVERS + WSGI_SERVERS)
def port(request):
    """A real server running a page behind SetsHeader: h11 for ASGI (uvicorn, hypercorn), waitress and wsgiref for WSGI."""
    app = SetsHeader.asgi(asgi_page) if request.param in ASGI_SERVERS else SetsHeader.wsgi(wsgi_page)
    with SERVING[request.param](app) as port:
        yield port


CASES = [f"/name/{i}" for i in range(len(BAD_NAMES))] + [f"/value/{i}" for i in range(len(BAD_VALUES))]


def test_bad_headers_from_a_filter_get_the_clean_500_on_the_wire_and_the_server_serves_on(port, caplog):
    for path in CASES:
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="dualfilter"):
            status, headers, body = wire_get(port, path)
        assert (status, headers.get("content-length"), body) == (500, "22", b"Internal Server Error\n"), path
        assert "SetsHeader failed" in caplog.text, path
        assert wire_get(port, "/ok")[::2] == (200, b"<P>PAGE</P>"), f"a new connection after {path}"
