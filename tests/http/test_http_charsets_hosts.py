"""The identity rule on the real hosts: a filter that returns the text unchanged
sends the app's bytes and Content-Type as they were, through Filter.wsgi and Filter.asgi."""

from __future__ import annotations

import codecs

import httpx

from dualfilter import Filter

#: (Content-Type, body) pairs a browser reads in a way a naive decoder would not.
PAGES = [
    ("text/html; charset=iso-8859-1", b"<p>\x80 \x93quoted\x94 caf\xe9 \x81</p>"),
    ("text/html; charset=us-ascii", b"<p>\x99 \xe9</p>"),
    ("text/html; charset=iso-8859-1", codecs.BOM_UTF8 + "<p>caf\u00e9 \u20ac</p>".encode()),
    ("text/html; charset=utf-8", codecs.BOM_UTF16_LE + "<p>\u00e9t\u00e9</p>".encode("utf-16-le")),
    ("text/html", b'<meta charset="windows-1252"><p>\x93caf\xe9\x94</p>'),
    ("text/html", b"<p>\x93no label, not UTF-8\x94</p>"),
    ("text/html", "<p>no label, UTF-8 \u00e9</p>".encode()),
    ("text/plain; charset=shift_jis", "\u65e5\u672c\u8a9e".encode("shift_jis")),
    ("text/plain; charset=iso-2022-jp", "\u65e5\u672c\u8a9e".encode("iso-2022-jp")),
]


class Unchanged(Filter):
    decode_unicode = True
    filter_content_types = ("text/*",)

    def filter(self, environ, headers, data):
        return data


def wsgi_app(environ, start_response):
    content_type, body = PAGES[int(environ["PATH_INFO"].strip("/"))]
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


async def asgi_app(scope, receive, send):
    assert scope["type"] == "http"
    content_type, body = PAGES[int(scope["path"].strip("/"))]
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_an_unchanging_filter_sends_each_pages_bytes_and_content_type_unchanged_through_wsgi():
    transport = httpx.WSGITransport(app=Unchanged.wsgi(wsgi_app))
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        for index, (content_type, body) in enumerate(PAGES):
            response = client.get(f"/{index}")
            assert (response.status_code, response.headers["content-type"], response.content) == (200, content_type, body)


async def test_an_unchanging_filter_sends_each_pages_bytes_and_content_type_unchanged_through_asgi():
    transport = httpx.ASGITransport(app=Unchanged.asgi(asgi_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for index, (content_type, body) in enumerate(PAGES):
            response = await client.get(f"/{index}")
            assert (response.status_code, response.headers["content-type"], response.content) == (200, content_type, body)
