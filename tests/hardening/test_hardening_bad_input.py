"""Bad input: each gets its documented outcome on every host, and never a traceback by default.

A body the filter cannot read (malformed XML or JSON, HTML with no document,
bytes not in the declared charset, an unknown charset name), a header value a
filter sets that could split the header block or is not latin-1, a filter
returning the wrong type or raising: the client gets the plain, clean 500 and
the ``dualfilter`` logger an error naming the filter and the request.
Malformed but readable HTML is repaired by the parser and filtered.
"""

from __future__ import annotations

import logging

import pytest

from dualfilter import Filter
from tests.support.filters import MarkHTML, MarkJSON, MarkXML
from tests.support.hardening_hosts import HOSTS, HTML, Inner, fetch, header

CLEAN_500 = b"Internal Server Error\n"


class Text(Filter):
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.replace("secret", "[redacted]")


class SplitHeader(Filter):
    def filter(self, environ, headers, data):
        headers["X-Note"] = "ok\r\nSet-Cookie: stolen=1"
        return data


class NotLatin1Header(Filter):
    def filter(self, environ, headers, data):
        headers["X-Note"] = "naïve ☃"
        return data


class WrongType(Filter):
    def filter(self, environ, headers, data):
        return 42


class Raises(Filter):
    def filter(self, environ, headers, data):
        raise RuntimeError("internal detail: /srv/app/secret.py line 7")


CASES = {
    "malformed-xml": (MarkXML, "application/xml", b"<doc><open></doc>"),
    "malformed-json": (MarkJSON, "application/json", b'{"a": [1, 2'),
    "undecodable-bytes": (Text, HTML, b"<p>caf\xe9 secret</p>"),
    "unknown-charset": (Text, "text/html; charset=x-no-such-charset", b"<p>secret</p>"),
    "header-with-cr-lf": (SplitHeader, HTML, b"<p>secret</p>"),
    "header-not-latin-1": (NotLatin1Header, HTML, b"<p>secret</p>"),
    "wrong-return-type": (WrongType, HTML, b"<p>secret</p>"),
    "filter-raises": (Raises, HTML, b"<p>secret</p>"),
}


def run(host: str, case: str):
    flt, content_type, body = CASES[case]
    return fetch(host, flt(), Inner(200, "OK", [("Content-Type", content_type)], [body]))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("host", HOSTS)
def test_bad_input_gets_the_clean_500_and_nothing_else(host, case):
    response = run(host, case)
    assert (response.status, response.body) == (500, CLEAN_500)
    assert (header(response, "content-type"), header(response, "content-length")) == ("text/plain; charset=utf-8", "22")


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("host", HOSTS)
def test_bad_input_is_logged_as_an_error_naming_the_filter_and_the_request(host, case, caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        run(host, case)
    errors = [r.getMessage() for r in caplog.records if r.name == "dualfilter" and r.levelno == logging.ERROR]
    assert any(CASES[case][0].__name__ in message and "GET /" in message for message in errors), errors


@pytest.mark.parametrize("host", HOSTS)
def test_a_header_a_filter_tries_to_inject_never_reaches_the_client(host):
    response = run(host, "header-with-cr-lf")
    assert header(response, "set-cookie") is None and header(response, "x-note") is None


@pytest.mark.parametrize("body", [b"<!-- nothing but a comment -->", b"<!DOCTYPE html>\n<!-- generated -->\n"])
@pytest.mark.parametrize("host", HOSTS)
def test_html_without_an_element_passes_as_it_came(host, body):
    # Browsers show it blank: nothing for the filter, and no reason for a 500 (as an empty page).
    response = fetch(host, MarkHTML(), Inner(200, "OK", [("Content-Type", HTML)], [body]))
    assert (response.status, response.body) == (200, body)


@pytest.mark.parametrize("host", HOSTS)
def test_malformed_but_readable_html_is_repaired_and_filtered(host):
    inner = Inner(200, "OK", [("Content-Type", HTML)], [b"<p>unclosed <b>bold</p></div></span>"])
    response = fetch(host, MarkHTML(), inner)
    assert (response.status, response.body) == (200, b'<p seen="yes">unclosed <b>bold</b></p>')  # a fragment stays one


@pytest.mark.parametrize("host", HOSTS)
def test_undecodable_bytes_are_filtered_with_unicode_errors_replace(host):
    inner = Inner(200, "OK", [("Content-Type", HTML)], [b"<p>caf\xe9 secret</p>"])
    response = fetch(host, Text(unicode_errors="replace"), inner)
    assert (response.status, response.body) == (200, "<p>caf\ufffd [redacted]</p>".encode())


@pytest.mark.parametrize("host", HOSTS)
def test_the_debug_option_shows_the_traceback_the_default_hides(host):
    inner = Inner(200, "OK", [("Content-Type", HTML)], [b"<p>x</p>"])
    response = fetch(host, Raises(debug=True), inner)
    assert response.status == 500 and b"Traceback" in response.body and b"internal detail" in response.body
