"""Replace on XML: a page its charset cannot hold the replacement in goes out as UTF-8,
and its XML declaration says so, so that a parser reading the bytes alone reads the text."""

from __future__ import annotations

import lxml.etree
import pytest

from dualfilter import Filter
from dualfilter.filters import Replace
from dualfilter.testing import run_filter
from tests.support.hardening_hosts import HOSTS, Inner, fetch, header

FEED = '<?xml version="1.0" encoding="iso-8859-1"?>\n<rss><title>caf\u00e9 price</title></rss>'
EURO = Replace(pattern="price", repl="\u20ac 3")


def served(host: str, flt: Filter, content_type: str, body: bytes, chunk: int = 0):
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
    return fetch(host, flt, Inner(200, "OK", [("Content-Type", content_type)], chunks))


@pytest.mark.parametrize("content_type", ["application/xml", "application/rss+xml", "text/xml; charset=iso-8859-1"])
@pytest.mark.parametrize("host", HOSTS)
def test_an_xml_page_switched_to_utf8_declares_utf8_in_its_xml_declaration(host, content_type):
    response = served(host, EURO, content_type, FEED.encode("iso-8859-1"), chunk=7)
    assert response.status == 200
    assert header(response, "content-type").endswith("charset=utf-8")
    assert lxml.etree.fromstring(response.body).findtext("title") == "caf\u00e9 \u20ac 3"  # read without the header
    assert response.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')


@pytest.mark.parametrize("host", HOSTS)
def test_an_xml_page_its_charset_still_holds_keeps_its_declaration_and_bytes(host):
    response = served(host, Replace(pattern="price", repl="prix"), "application/xml", FEED.encode("iso-8859-1"))
    assert response.body == FEED.replace("price", "prix").encode("iso-8859-1")
    assert header(response, "content-type") == "application/xml; charset=iso-8859-1"


@pytest.mark.parametrize(
    ("declaration", "written"),
    [
        (
            "<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?>",
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
        ),
        ('<?xml version="1.0"\n   encoding = "latin1" ?>', '<?xml version="1.0"\n   encoding = "utf-8" ?>'),
    ],
)
def test_the_encoding_is_rewritten_in_any_spelling_of_the_declaration_and_the_rest_kept(declaration, written):
    page = f"{declaration}<r>price</r>"
    body = run_filter(EURO, page.encode("iso-8859-1"), content_type="application/xml")[2]
    assert body == f"{written}<r>\u20ac 3</r>".encode()


def test_a_declaration_without_an_encoding_gains_one_when_the_output_is_not_utf8():
    page = '<?xml version="1.0"?><r>price</r>'
    flt = Replace(pattern="price", repl="\u20ac 3", output_encoding="windows-1252")
    status, headers, body = run_filter(flt, page.encode(), content_type="application/xml; charset=us-ascii")
    assert dict(headers)["Content-Type"] == "application/xml; charset=windows-1252"
    assert body == b'<?xml version="1.0" encoding="windows-1252"?><r>\x80 3</r>'
    assert lxml.etree.fromstring(body).text == "\u20ac 3"


def test_a_declaration_without_an_encoding_is_left_as_it_is_when_the_output_is_utf8():
    page = '<?xml version="1.0"?><r>price</r>'
    body = run_filter(EURO, page.encode(), content_type="application/xml; charset=us-ascii")[2]
    assert body == '<?xml version="1.0"?><r>\u20ac 3</r>'.encode()


def test_an_html_page_keeps_its_text_as_written_the_header_says_utf8():
    # For HTML the Content-Type outranks anything in the document, as browsers read it.
    page = '<?xml version="1.0" encoding="iso-8859-1"?><p>price</p>'
    status, headers, body = run_filter(EURO, page.encode("iso-8859-1"), content_type="text/html")
    assert body == page.replace("price", "\u20ac 3").encode()
