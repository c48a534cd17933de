"""``WSGIExtension``: serve any WSGI application (filtered or not) as a pywin32 ISAPI extension.

The environ comes from the ECB's server variables, the request body from
``AvailableData`` then ``ReadClient`` (read lazily, as the app asks), and the
response goes out through ``SendResponseHeaders`` / ``WriteClient``. Requests
run on a pool of worker threads (``HSE_STATUS_PENDING``, then
``DoneWithSession``), the way pywin32's ThreadPoolExtension runs them; with
``workers=0`` each runs on the IIS thread that called. As there, a worker
takes on the request's impersonation token while it serves the request, so
the app runs as the request's user whichever thread serves it.
``handle(ecb)`` serves one request on the calling thread, for use from an
extension of one's own.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from ...errors import StreamError
from ...headers import HOP_BY_HOP
from ...http1 import content_length
from ...responses import simple_response
from ..constants import (
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
    HSE_STATUS_SUCCESS_AND_KEEP_CONN,
)
from ..environ import HeadersTooLong, server_environ, total_bytes
from ..wire import fit_description, header_block, send_response

log = logging.getLogger("dualfilter")

#: The most bytes of a description HSE_VERSION_INFO holds (HSE_MAX_EXT_DLL_NAME_LEN, less its NUL).
MAX_DESCRIPTION = 255

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

#: RFC 9110: status-code SP reason-phrase, reason-phrase = *( HTAB / SP / VCHAR / obs-text ).
_STATUS = re.compile(r"[1-5][0-9][0-9](?: [\t\x20-\x7e\x80-\xff]*)?")
#: RFC 9110 field-name: a token.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9110 field-value: VCHAR / obs-text and SP / HTAB (the whitespace around it is dropped on
#: the wire); no other control character, CR and LF least of all.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def check_status(status: object) -> str:
    """A WSGI status as RFC 9110 allows it on the wire (``'200 OK'``); TypeError or ValueError
    otherwise, so no CR or LF ever reaches ``SendResponseHeaders``."""
    if type(status) is not str:
        raise TypeError(f"status must be a str, not {type(status).__name__}")
    if _STATUS.fullmatch(status) is None:
        raise ValueError(f"not a valid HTTP status line: {status!r}")
    return status


def check_headers(headers: object) -> list[tuple[str, str]]:
    """WSGI response headers as RFC 9110 and PEP 3333 allow them: token names, values
    of visible latin-1 characters, spaces and tabs, no hop-by-hop field (wsgiref
    refuses them too); TypeError or ValueError otherwise."""
    if type(headers) is not list:
        raise TypeError(f"headers must be a list, not {type(headers).__name__}")
    for pair in headers:
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str or type(pair[1]) is not str:
            raise TypeError(f"headers must be (str, str) tuples, not {pair!r}")
        name, value = pair
        if _FIELD_NAME.fullmatch(name) is None:
            raise ValueError(f"not a valid header name: {name!r}")
        if name.lower() in HOP_BY_HOP:  # PEP 3333: the server's to send, not the app's
            raise ValueError(f"a WSGI application may not send the hop-by-hop header {name}")
        if _FIELD_VALUE.fullmatch(value) is None:
            raise ValueError(f"not a valid value for header {name}: {value!r}")
    return headers


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestBody(io.RawIOBase):
    """The request body: ``AvailableData`` first, then ``ReadClient`` until ``TotalBytes``
    (or until it returns nothing, for a body of unknown length)."""

    def __init__(self, ecb: Any) -> None:
        super().__init__()
        self._ecb = ecb
        self._head: bytes | None = None
        self._pos = 0
        self._remaining: int | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head is None:
            self._head = self._ecb.AvailableData
            total = total_bytes(self._ecb)
            self._remaining = None if total is None else max(total - len(self._head), 0)
        if self._pos < len(self._head):
            chunk = self._head[self._pos : self._pos + len(view)]
            self._pos += len(chunk)
        elif self._remaining == 0:
            return 0
        else:
            want = len(view) if self._remaining is None else min(len(view), self._remaining)
            chunk = self._ecb.ReadClient(want)
            if not chunk:
                self._remaining = 0
                return 0
            if self._remaining is not None:
                self._remaining -= len(chunk)
        view[: len(chunk)] = chunk
        return len(chunk)


class ErrorLog(io.TextIOBase):
    """``wsgi.errors`` where the process has no ``sys.stderr`` (IIS's worker process runs
    without one, and pywin32 sets none up): each line written goes to the ``dualfilter``
    logger as an error, a line not ended when it is flushed or closed too."""

    def __init__(self) -> None:
        super().__init__()
        self._line = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"wsgi.errors takes str, not {type(text).__name__}")
        *lines, self._line = (self._line + text).split("\n")
        for line in lines:
            log.error("wsgi.errors: %s", line)
        return len(text)

    def flush(self) -> None:
        if self._line:
            line, self._line = self._line, ""
            log.error("wsgi.errors: %s", line)

    def close(self) -> None:
        self.flush()
        super().close()


def stated_length(headers: list[tuple[str, str]]) -> int | None:
    """The body length a response's Content-Length states, or None if it states none it can
    be held to (none at all, or not one length: values that differ, or not a number)."""
    try:
        return content_length(headers)
    except ValueError:
        return None


def thread_token_setter() -> Callable[[Any, Any], object] | None:
    """pywin32's ``win32security.SetThreadToken``, or None where it cannot be imported (not
    Windows: no thread there has a token to take on)."""
    try:
        from win32security import SetThreadToken
    except ImportError:
        return None
    setter: Callable[[Any, Any], object] = SetThreadToken
    return setter


class _Response:
    """One WSGI response written to an ECB: ``start_response``, the ``write`` it returns, and the
    body chunks the application's iterable yields.

    As PEP 3333 asks, the headers go out with the first non-empty chunk (or the first
    ``write()``), so until then a failure still gets a clean 500 and ``exc_info`` can replace
    the response; and the application is held to its own Content-Length: no byte past it
    reaches the client, and a body short of it ends the connection (and is logged). A
    response that has no body (to HEAD; 1xx, 204, 304) sends none, whatever the app gives
    (RFC 9110 sections 9.3.2, 15.3.5, 15.4.5): the client would read it as the next response.
    """

    __slots__ = ("ecb", "head", "status", "headers", "sent", "bodiless", "keep_alive", "remaining", "whole")

    def __init__(self, ecb: Any) -> None:
        self.ecb = ecb
        #: Whether this answers a HEAD request (its Content-Length is the GET's; no body follows).
        self.head = False
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        #: Whether the response that went out has no body (HEAD, 1xx, 204, 304): nothing more is sent.
        self.bodiless = False
        #: Whether IIS was asked to keep the connection (SendResponseHeaders' keepAlive).
        self.keep_alive = False
        #: How many bytes of the stated Content-Length are still to send (None: none to hold to).
        self.remaining: int | None = None
        #: The length of the whole body, when it is known before the headers go out.
        self.whole: int | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self.sent:
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        self.status, self.headers = check_status(status), check_headers(headers)
        return self.write

    def send_headers(self) -> None:
        """Send the status and headers, and learn the Content-Length to hold the body to
        (none for a response that carries no body whatever it says: HEAD, 1xx, 204, 304)."""
        status = self.status
        if status is None:
            raise AssertionError("the application returned a body before calling start_response")
        length = stated_length(self.headers)
        code = int(status[:3])
        bodiless = self.bodiless = self.head or code < 200 or code == 204 or code == 304
        if length is not None and not bodiless:
            self.remaining = length
        # Keep the connection only if the client can tell where the body ends (and it will end
        # there): at the blank line for a response without one (RFC 9112 section 6.3), else at its length.
        whole = self.whole
        self.keep_alive = bodiless or length is not None and (whole is None or whole >= length)
        self.sent = True
        self.ecb.SendResponseHeaders(status.encode("latin-1"), header_block(self.headers), self.keep_alive)

    def write(self, data: bytes) -> None:
        """The ``write()`` callable: the headers go out at its first call; ValueError for bytes
        past the Content-Length (those that fit are sent)."""
        if type(data) is not bytes:
            raise TypeError(f"a WSGI body must be bytes, not {type(data).__name__}")
        if not self.sent:
            self.send_headers()
        if not self._send(data):
            raise ValueError(f"write() past the Content-Length: {len(data)} bytes written with fewer left to send")

    def chunk(self, data: bytes) -> bool:
        """One chunk of the application's iterable (an empty one sends nothing, not even the
        headers); False once no more can go out (the Content-Length is reached, or the response
        has no body), when iterating should stop."""
        if type(data) is not bytes:
            raise TypeError(f"a WSGI body must be bytes, not {type(data).__name__}")
        if data:
            if not self.sent:
                self.send_headers()
            if self.bodiless:
                return False
            if not self._send(data):
                log.warning("WSGI application sent more than its Content-Length; the rest was dropped")
                return False
        return self.remaining != 0

    @property
    def short(self) -> bool:
        """Whether fewer bytes were sent than the Content-Length said."""
        return bool(self.remaining)

    def _send(self, data: bytes) -> bool:
        """Send ``data``, cut at the Content-Length (nothing of it for a response with no
        body); False if it had to be cut."""
        if self.bodiless:
            return True
        remaining = self.remaining
        fits = remaining is None or len(data) <= remaining
        if not fits:
            data = data[:remaining]
        if remaining is not None:
            self.remaining = remaining - len(data)
        if data:
            self.ecb.WriteClient(data)
        return fits


class WSGIExtension:
    """A pywin32 ISAPI extension object serving the WSGI application ``app``.

    ``workers`` threads serve requests (0: serve on IIS's own thread);
    ``description`` is what IIS shows for the extension. ``wildcard`` says how
    the extension is mapped: True (the default) for a ``*`` script map, where
    the IIS application is SCRIPT_NAME; False for a map to a script
    (``*.py``), where the script is. IIS reports a request for the script
    itself exactly as one under a ``*`` map, so only this tells them apart.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        workers: int = 20,
        description: str = "dualfilter WSGI extension",
        wildcard: bool = True,
    ) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.app = app
        self.workers = workers
        self.description = description
        self.wildcard = wildcard
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        #: win32security.SetThreadToken, looked up when the workers start (None off Windows).
        self._set_thread_token: Callable[[Any, Any], object] | None = None

    # -- the extension interface ------------------------------------------------------

    def GetExtensionVersion(self, vi: Any) -> None:
        """Called once as IIS loads the extension."""
        if vi is not None:  # None when pywin32 reloads the script
            vi.ExtensionDesc = fit_description(self.description, MAX_DESCRIPTION)

    def HttpExtensionProc(self, ecb: Any) -> int:
        """Serve one request: on a worker thread (``HSE_STATUS_PENDING``), or here with ``workers=0``."""
        if not self.workers:
            return self.handle(ecb)
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._set_thread_token = thread_token_setter()
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="dualfilter-wsgi")
                pool = self._pool
        pool.submit(self._dispatch, ecb)
        return HSE_STATUS_PENDING

    def TerminateExtension(self, status: int) -> None:
        """Called once as IIS unloads the extension: finish the requests in hand, stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # -- serving ------------------------------------------------------------------------

    def environ(self, ecb: Any) -> dict[str, Any]:
        """The WSGI environ for the request ``ecb`` carries: all of it, or HeadersTooLong."""
        environ = server_environ(ecb, wildcard=self.wildcard, whole=True)
        environ.update(
            {
                "wsgi.version": (1, 0),
                "wsgi.input": io.BufferedReader(RequestBody(ecb), 65536),
                "wsgi.errors": sys.stderr if sys.stderr is not None else ErrorLog(),
                "wsgi.multithread": True,
                "wsgi.multiprocess": True,
                "wsgi.run_once": False,
                "wsgi.input_terminated": True,
            }
        )
        return environ

    def handle(self, ecb: Any) -> int:
        """Serve one request on this thread and return the HSE status to end it with
        (this does not call ``DoneWithSession``)."""
        response = _Response(ecb)
        try:
            response.head = ecb.Method == b"HEAD"
            try:
                environ = self.environ(ecb)
            except HeadersTooLong as exc:
                # The app would be shown a request without some of its headers (a cookie, a
                # credential): refused as RFC 6585 section 5 has it, the app not called.
                log.warning("%s: answered 431", exc)
                send_response(ecb, simple_response(431, "Request Header Fields Too Large", head=response.head))
                return HSE_STATUS_SUCCESS
            result = self.app(environ, response.start_response)
            try:
                if type(result) is list or type(result) is tuple:
                    # The whole body is known before the headers go out.
                    response.whole = sum(len(chunk) for chunk in result if type(chunk) is bytes)
                for chunk in result:
                    if not response.chunk(chunk):
                        break
                if not response.sent:
                    response.whole = 0
                    response.send_headers()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            if not isinstance(exc, StreamError):  # a streaming filter that failed: the machine logged it
                log.error("WSGI application %r failed", self.app, exc_info=exc)
            if response.sent:  # part of the response is out: close the connection so the client sees it cut
                return HSE_STATUS_ERROR
            send_response(ecb, simple_response(500, "Internal Server Error", head=response.head))
            return HSE_STATUS_SUCCESS
        if response.short:
            # The client would wait for bytes that never come: ending the connection tells it.
            length = stated_length(response.headers)
            log.error(
                "WSGI application %r sent %d bytes fewer than its Content-Length of %s", self.app, response.remaining, length
            )
            return HSE_STATUS_SUCCESS
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN if response.keep_alive else HSE_STATUS_SUCCESS

    def _dispatch(self, ecb: Any) -> None:
        """Serve one request on a worker thread, as the request's user, and end its session.

        As pywin32's ThreadPoolExtension.DispatchConnection does, the worker takes on the
        request's impersonation token (``SetThreadToken(None, ecb.GetImpersonationToken())``)
        before serving, and drops it (``SetThreadToken(None, None)``) once the session is
        over; the token is asked for on every platform, so an ECB that cannot give one ends
        the request with an error there too, not only on Windows.
        """
        status = HSE_STATUS_ERROR
        set_token = None
        try:
            token = ecb.GetImpersonationToken()
            if self._set_thread_token is not None:
                self._set_thread_token(None, token)
                set_token = self._set_thread_token
            status = self.handle(ecb)
        except Exception:  # the client went away while we wrote (ExtensionError) or worse
            log.exception("serving an ISAPI request failed")
        finally:
            try:
                ecb.DoneWithSession(status)
            finally:
                if set_token is not None:
                    set_token(None, None)

    def __repr__(self) -> str:
        return f"<WSGIExtension for {self.app!r}>"
