"""Format filters read a body with bytes not in its charset as ``decode_unicode`` filters do:
the clean 500 under ``unicode_errors='strict'``, filtered with the handler's text under any other."""

from __future__ import annotations

import json

import lxml.etree
import pytest

from dualfilter import Filter, Format
from dualfilter.testing import run_filter
from tests.support.filters import MarkHTML, MarkJSON, MarkXML
from tests.support.hardening_hosts import HOSTS, Inner, fetch, header

CLEAN_500 = b"Internal Server Error\n"


#: A filter, a Content-Type and a body holding a byte (0xE9) its charset does not have.
UNDECODABLE = {
    "lxml_html": (MarkHTML, "text/html; charset=utf-8", b"<p>caf\xe9</p>"),
    "lxml_xml": (MarkXML, "application/xml; charset=utf-8", b"<doc>caf\xe9</doc>"),
    "lxml_xml-undeclared": (MarkXML, "application/xml", b"<doc>caf\xe9</doc>"),
    "lxml_xml-declared-in-the-document": (
        MarkXML,
        "application/rss+xml",
        b'<?xml version="1.0" encoding="utf-8"?><doc>caf\xe9</doc>',
    ),
    "json": (MarkJSON, "application/json", b'{"a": "caf\xe9"}'),
}


def served(host: str, case: str, **options):
    flt, content_type, body = UNDECODABLE[case]
    return fetch(host, flt(**options), Inner(200, "OK", [("Content-Type", content_type)], [body]))


@pytest.mark.parametrize("case", list(UNDECODABLE))
@pytest.mark.parametrize("host", HOSTS)
def test_a_format_filter_answers_the_clean_500_for_undecodable_bytes_under_strict(host, case):
    response = served(host, case)
    assert (response.status, response.body) == (500, CLEAN_500)


@pytest.mark.parametrize("host", HOSTS)
def test_an_html_format_filter_filters_undecodable_bytes_under_unicode_errors_replace(host):
    response = served(host, "lxml_html", unicode_errors="replace")
    assert (response.status, response.body) == (200, '<p seen="yes">caf\ufffd</p>'.encode())


@pytest.mark.parametrize("case", ["lxml_xml", "lxml_xml-undeclared", "lxml_xml-declared-in-the-document"])
@pytest.mark.parametrize("host", HOSTS)
def test_an_xml_format_filter_filters_undecodable_bytes_under_unicode_errors_replace(host, case):
    response = served(host, case, unicode_errors="replace")
    assert response.status == 200
    root = lxml.etree.fromstring(response.body)  # the bytes read as their own declaration says
    assert (root.get("seen"), root.text) == ("yes", "caf\ufffd")


@pytest.mark.parametrize("host", HOSTS)
def test_a_json_format_filter_filters_undecodable_bytes_under_unicode_errors_replace(host):
    response = served(host, "json", unicode_errors="replace")
    assert response.status == 200
    assert json.loads(response.body) == {"a": "caf\ufffd", "seen": True}


@pytest.mark.parametrize("host", HOSTS)
def test_an_html_format_filter_under_unicode_errors_replace_writes_what_its_charset_cannot_hold_in_utf8(host):
    # 0xAA is not in windows-1253, nor is U+FFFD: the page goes out as UTF-8, and says so (as a text filter's does).
    inner = Inner(
        200, "OK", [("Content-Type", "text/html; charset=windows-1253")], ["<p>\u03b1\u03b2".encode("cp1253") + b"\xaa</p>"]
    )
    response = fetch(host, MarkHTML(unicode_errors="replace"), inner)
    assert (response.status, header(response, "content-type")) == (200, "text/html; charset=utf-8")
    assert response.body.decode() == '<p seen="yes">\u03b1\u03b2\ufffd</p>'


@pytest.mark.parametrize("case", list(UNDECODABLE))
def test_a_format_filter_reads_with_any_handler_that_decodes(case):
    flt, content_type, body = UNDECODABLE[case]
    status, _, out = run_filter(flt(unicode_errors="ignore"), body, content_type=content_type)
    assert status == 200
    assert b"caf<" in out or b'caf"' in out


def test_a_handler_whose_text_is_no_json_gives_the_clean_500():
    # backslashreplace reads 0xE9 as the four characters \xe9: no JSON string escape.
    flt, content_type, body = UNDECODABLE["json"]
    assert run_filter(flt(unicode_errors="backslashreplace"), body, content_type=content_type)[0] == 500


@pytest.mark.parametrize("case", ["lxml_html", "lxml_xml", "lxml_xml-undeclared"])
def test_a_tree_format_reads_surrogateescape_bytes_as_replacement_characters(case):
    # An lxml tree cannot hold the lone surrogates surrogateescape keeps: they are read as U+FFFD, never dropped.
    flt, content_type, body = UNDECODABLE[case]
    status, _, out = run_filter(flt(unicode_errors="surrogateescape"), body, content_type=content_type)
    assert status == 200
    assert "caf\ufffd" in out.decode()


@pytest.mark.parametrize("content_type", ["application/xml", "application/xml; charset=iso-8859-1"])
def test_unicode_errors_changes_nothing_for_an_xml_document_its_charset_reads(content_type):
    doc = b'<?xml version="1.0" encoding="iso-8859-1"?>\n<doc>caf\xe9 \x80</doc>'
    strict = run_filter(MarkXML(), doc, content_type=content_type)
    assert strict[0] == 200
    assert run_filter(MarkXML(unicode_errors="replace"), doc, content_type=content_type) == strict


def test_unicode_errors_changes_nothing_for_an_html_page_its_charset_reads():
    page = b"<p>caf\xe9 \x80</p>"
    strict = run_filter(MarkHTML(), page, content_type="text/html; charset=iso-8859-1")
    assert strict[0] == 200
    assert run_filter(MarkHTML(unicode_errors="replace"), page, content_type="text/html; charset=iso-8859-1") == strict


def test_a_malformed_xml_document_gives_the_clean_500_under_any_handler():
    assert run_filter(MarkXML(unicode_errors="replace"), b"<doc>caf\xe9<open></doc>", content_type="application/xml")[0] == 500


class Lines(Format):
    """A third-party format whose parse() takes no ``errors``: it reads strictly, as it always has."""

    name = "test-lines"
    media_types = ("text/x-lines",)

    def parse(self, data, declared, media_type):
        return data.decode("utf-8").splitlines(), None

    def serialize(self, value, charset, media_type, output_encoding):
        return "\n".join(value).encode("utf-8"), None


class Reverse(Filter):
    format = Lines()

    def filter(self, environ, headers, data):
        return data[::-1]


def test_a_format_whose_parse_takes_no_errors_still_reads_under_another_handler():
    assert run_filter(Reverse(unicode_errors="replace"), b"a\nb", content_type="text/x-lines")[2] == b"b\na"
