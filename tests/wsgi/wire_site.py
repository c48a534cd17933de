"""The site the wire tests serve on every real WSGI server, with and without the filter.

``/bare/...`` is the app alone, ``/up/...`` the app behind ``Upper`` (HTML upper-cased),
``/stream/...`` behind a streaming ``Upper`` (chunk by chunk, ``close()`` counted). What
the app's iterables live through (chunks served, ``close()`` calls, files read) is written
to a journal file, one line an event, so a test reads it whatever process the server runs
the app in (gunicorn and granian run it in their own).
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import Any

from tests.support.filters import Upper

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
#: Chunks of a long streamed body, and how many at most (a client gone stops it long before).
BLOCK = b"x" * 65536
MAX_BLOCKS = 2000
PAGE = b"<html><body><p>page</p></body></html>"


class Journal:
    """Appends one line an event to a file, a single write each (threads and processes share it)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, *words: object) -> None:
        line = (" ".join(str(word) for word in words) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


class Tracked:
    """An app iterable that journals each chunk it serves and each ``close()``."""

    def __init__(self, journal: Journal, name: str, chunks: Any, start: Any = None) -> None:
        self.journal, self.name, self.chunks, self.start = journal, name, chunks, start

    def __iter__(self):
        if self.start is not None:
            self.start()
        for chunk in self.chunks:
            self.journal("chunk", self.name)
            yield chunk

    def close(self) -> None:
        self.journal("close", self.name)


class JournaledFile(io.FileIO):
    """A file whose reads and close are journaled (a server's sendfile reads none)."""

    journal: Journal
    name_in_journal: str

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        self.journal("read", self.name_in_journal)
        return super().read(size)

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        self.journal("read", self.name_in_journal)
        return super().readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self.journal("close", self.name_in_journal)
        super().close()


class StreamingUpper(Upper):
    """Upper, chunk by chunk; its streams' ``close()`` (a response dropped) is journaled."""

    journal: Journal

    def stream(self, environ, headers):
        journal = self.journal
        name = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")

        class Stream:
            def feed(self, data: bytes) -> bytes:
                return data.upper()

            def finish(self) -> bytes:
                return b""

            def close(self) -> None:
                journal("stream-close", name)

        return Stream()


def make_app(journal: Journal, page_file: str):
    """The app: what it does is named by the path (after the prefix), its type by ``?type=``."""

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        query = dict(part.split("=", 1) for part in environ.get("QUERY_STRING", "").split("&") if "=" in part)
        content_type = {"html": HTML, "text": TEXT}[query.get("type", "html")]
        name = path + "?" + environ.get("QUERY_STRING", "")
        journal("call", name)

        if path == "/page":
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(PAGE)))])
            return Tracked(journal, name, [PAGE])
        if path == "/long":  # a long body, streamed until the client goes (bounded by MAX_BLOCKS)
            start_response("200 OK", [("Content-Type", content_type)])

            def blocks():
                for _ in range(MAX_BLOCKS):
                    yield BLOCK
                    time.sleep(0.001)

            return Tracked(journal, name, blocks())
        if path == "/lazy-long":  # the same, started on the first next()

            def lazy_blocks():
                start_response("200 OK", [("Content-Type", content_type)])
                for _ in range(MAX_BLOCKS):
                    yield BLOCK
                    time.sleep(0.001)

            return Tracked(journal, name, lazy_blocks())
        if path == "/cut":  # a body that fails after its first chunk
            start_response("200 OK", [("Content-Type", content_type)])

            def cut():
                yield b"<p>first chunk</p>" * 4
                raise RuntimeError("the app failed mid-body")

            return Tracked(journal, name, cut())
        if path == "/lazy-cut":

            def lazy_cut():
                start_response("200 OK", [("Content-Type", content_type)])
                yield b"<p>first chunk</p>" * 4
                raise RuntimeError("the app failed mid-body")

            return Tracked(journal, name, lazy_cut())
        if path == "/cut-later":  # fails after a long first part (the server sent some by then)
            start_response("200 OK", [("Content-Type", content_type)])

            def cut_later():
                for _ in range(16):
                    yield BLOCK
                raise RuntimeError("the app failed mid-body")

            return Tracked(journal, name, cut_later())
        if path == "/short":  # says 100 bytes, sends 50
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", "100")])
            return Tracked(journal, name, [b"<p>" + b"s" * 43 + b"</p>"])
        if path == "/overlong":  # says 10 bytes, sends 50
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", "10")])
            return Tracked(journal, name, [b"<p>" + b"o" * 43 + b"</p>"])
        if path == "/file":
            handle = JournaledFile(page_file)
            handle.journal, handle.name_in_journal = journal, name
            size = os.fstat(handle.fileno()).st_size
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(size))])
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is None:
                from wsgiref.util import FileWrapper as wrapper
            return wrapper(handle, 8192)
        if path == "/raise-before-start":
            raise RuntimeError("the app failed before start_response")
        if path == "/raise-after-start":
            start_response("200 OK", [("Content-Type", content_type)])
            raise RuntimeError("the app failed after start_response")
        if path == "/unchanged":  # a 304 for a matching tag; the page (of its type) else
            if environ.get("HTTP_IF_NONE_MATCH") == '"v1"':
                start_response("304 Not Modified", [("ETag", '"v1"')])
                return Tracked(journal, name, [])
            start_response("200 OK", [("Content-Type", content_type), ("ETag", '"v1"'), ("Content-Length", str(len(PAGE)))])
            return Tracked(journal, name, [PAGE])
        if path == "/ranged":  # a 206 for a Range; reads the request content first
            content = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            page = b"<p>" + content + b"</p>"
            if environ.get("HTTP_RANGE") == "bytes=0-4":
                headers = [("Content-Type", content_type), ("Content-Range", f"bytes 0-4/{len(page)}"), ("Content-Length", "5")]
                start_response("206 Partial Content", headers)
                return Tracked(journal, name, [page[:5]])
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(page)))])
            return Tracked(journal, name, [page])
        if path == "/status":  # the status line as given, e.g. ?line=599+
            line = query.get("line", "200+OK").replace("+", " ").replace("%20", " ")
            start_response(line, [("Content-Type", content_type)])
            return Tracked(journal, name, [b"<p>status</p>"])
        if path == "/hop":  # hop-by-hop fields from the app (PEP 3333 forbids them)
            start_response("200 OK", [("Content-Type", content_type), ("Connection", "close"), ("Keep-Alive", "timeout=5")])
            return Tracked(journal, name, [b"<p>hop</p>"])
        if path == "/restart":  # starts (?first=), fails, starts again (?then=) with exc_info
            kinds = {"html": HTML, "text": TEXT}
            start_response("200 OK", [("Content-Type", kinds[query.get("first", "html")])])
            try:
                raise RuntimeError("the app's page failed")
            except RuntimeError:
                start_response("500 Internal Server Error", [("Content-Type", kinds[query.get("then", "text")])], sys.exc_info())
            return Tracked(journal, name, [b"<p>error page</p>"])
        if path == "/restart-late":  # the same once part of the body went out (?lazy=1: from the iterable)
            kinds = {"html": HTML, "text": TEXT}

            def late():
                write = start_response("200 OK", [("Content-Type", kinds[query.get("first", "text")])])
                if query.get("write"):
                    write(b"<p>written part</p>")
                else:
                    yield b"<p>yielded part</p>"
                try:
                    raise RuntimeError("the app's page failed")
                except RuntimeError:
                    start_response(
                        "500 Internal Server Error", [("Content-Type", kinds[query.get("then", "text")])], sys.exc_info()
                    )
                yield b"<p>error page</p>"

            return Tracked(journal, name, late())
        if path == "/write":  # write() before the iterable (?lazy=1: from inside it), then the iterable
            if query.get("lazy"):

                def written():
                    write = start_response("200 OK", [("Content-Type", content_type)])
                    yield b"<p>a</p>"
                    write(b"<p>b</p>")
                    yield b"<p>c</p>"

                return Tracked(journal, name, written())
            write = start_response("200 OK", [("Content-Type", content_type)])
            write(b"<p>a</p>")
            write(b"<p>b</p>")
            return Tracked(journal, name, [b"<p>c</p>"])
        if path == "/empties":  # empty chunks around the body (PEP 3333 block boundaries)

            def empties():
                if query.get("lazy"):
                    start_response("200 OK", [("Content-Type", content_type)])
                yield b""
                yield b"<p>a</p>"
                yield b""
                yield b""
                yield b"<p>b</p>"
                yield b""

            if not query.get("lazy"):
                start_response("200 OK", [("Content-Type", content_type)])
            return Tracked(journal, name, empties())
        if path == "/thread":  # its own page, by the id the client gives (?id=N)
            body = f"<p>{query.get('id')}</p>".encode()
            time.sleep(0.002)
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return Tracked(journal, name, [body])
        start_response("404 Not Found", [("Content-Type", TEXT)])
        return [b"not found"]

    return app


def make_site(journal_path: str, page_file: str):
    """The app alone under ``/bare``, behind the filter under ``/up``, behind the streaming
    filter under ``/stream``."""
    journal = Journal(journal_path)
    app = make_app(journal, page_file)
    streaming = type("JournaledStreamingUpper", (StreamingUpper,), {"journal": journal})
    mounted = {"/bare": app, "/up": Upper.wsgi(app), "/stream": streaming.wsgi(app)}

    def site(environ, start_response):
        path = environ.get("PATH_INFO", "")
        prefix = "/" + path.split("/", 2)[1] if path.count("/") >= 2 else path
        target = mounted.get(prefix)
        if target is None:
            start_response("404 Not Found", [("Content-Type", TEXT)])
            return [b"no such prefix"]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix) :]
        return target(environ, start_response)

    return site


def site_from_env():
    """The site for a server run in another process: ``WIRE_JOURNAL`` and ``WIRE_PAGE`` name its files."""
    return make_site(os.environ["WIRE_JOURNAL"], os.environ["WIRE_PAGE"])
