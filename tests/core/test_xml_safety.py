"""Parsing untrusted XML: internal entities only, within limits; no file or network access; bounded trees."""

from __future__ import annotations

import http.server
import threading

import pytest

from dualfilter import Filter

from .conftest import drive


class Echo(Filter):
    format = "lxml_xml"

    def filter(self, environ, headers, data):
        return data


XML = [("Content-Type", "application/xml")]

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def test_billion_laughs_is_not_expanded():
    status, headers, body = drive(Echo(), [BILLION_LAUGHS], headers=XML)[1:]
    assert b"lollol" not in body
    assert len(body) < 2 * len(BILLION_LAUGHS)


def test_billion_laughs_fails_at_once_at_libxml2s_amplification_limit(caplog):
    assert drive(Echo(), [BILLION_LAUGHS], headers=XML)[1:4:2] == (500, b"Internal Server Error\n")
    assert "Maximum entity amplification factor exceeded" in caplog.text


class Title(Filter):
    format = "lxml_xml"

    def filter(self, environ, headers, data):
        data.set("title", data.findtext("title"))
        return data


def test_a_filter_sees_the_text_of_an_internal_entity():
    doc = b'<!DOCTYPE doc [<!ENTITY product "Widget Pro">]><doc><title>About &product; v2</title></doc>'
    body = drive(Title(), [doc], headers=XML)[3]
    assert body == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<!DOCTYPE doc [\n<!ENTITY product "Widget Pro">\n]>\n'
        b'<doc title="About Widget Pro v2"><title>About Widget Pro v2</title></doc>'
    )


def test_an_entity_an_external_dtd_declares_is_kept_as_written():
    # XHTML's &nbsp; is declared in its DTD, which is not loaded: the reference stays as it came.
    doctype = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
    page = doctype + b'\n<html xmlns="http://www.w3.org/1999/xhtml"><body><p>a&nbsp;b</p></body></html>'
    body = drive(Echo(), [page], headers=XML)[3]
    assert body == b"<?xml version='1.0' encoding='UTF-8'?>\n" + page


def test_a_parameter_entity_is_not_read(tmp_path):
    declarations = tmp_path / "entities.ent"
    declarations.write_text('<!ENTITY y "TOP-SECRET">')
    subset = f'<!ENTITY % p SYSTEM "{declarations.as_uri()}">'
    body = drive(Echo(), [f"<!DOCTYPE r [{subset} %p;]><r>&y;</r>".encode()], headers=XML)[3]
    assert body == f"<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE r [\n{subset}\n]>\n<r>&y;</r>".encode()


def test_an_external_file_entity_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]><r>&x;</r>'.encode()
    body = drive(Echo(), [doc], headers=XML)[3]
    assert b"TOP-SECRET" not in body


@pytest.fixture
def counting_server():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            payload = b'<!ENTITY x "FETCHED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_no_external_dtd_or_entity_is_fetched_over_the_network(counting_server):
    url, hits = counting_server
    doc = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{url}/r.dtd" [<!ENTITY y SYSTEM "{url}/y">]><r>&y;</r>'.encode()
    body = drive(Echo(), [doc], headers=XML)[3]
    assert hits == []
    assert b"FETCHED" not in body


def test_a_tree_deeper_than_libxml2_allows_gives_a_500_not_a_crash():
    depth = 300_000
    doc = b"<a>" * depth + b"</a>" * depth
    assert drive(Echo(), [doc], headers=XML)[1] == 500
