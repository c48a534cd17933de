"""``FilterMiddleware``: an ISAPI extension that runs another and filters its responses.

``MyFilter.isapi(extension)`` returns one. IIS calls it like any extension;
each request's inner extension gets a :class:`~dualfilter.isapi.extension.proxy.ProxyECB`
in place of the real ECB. Both ways an extension can end a request work:
returning from ``HttpExtensionProc`` (the response is complete then), or
returning ``HSE_STATUS_PENDING`` and calling ``DoneWithSession`` later from any
thread (ThreadPoolExtension), where the filtered response is written before
the real session ends. An extension is shown a request as the client sent it;
when its 206 or 304 may stand for a filtered page, that answer is dropped and
the extension is asked again (a new proxy over the same real ECB, showing no
range or conditional header, and no request content: the first call read it),
in either way.
"""

from __future__ import annotations

import logging
from typing import Any

from ...errors import StreamError
from ...filter import Filter
from ...machine import ResponseMachine
from ...request_policy import VALIDATOR_HEADERS
from ...responses import request_refused
from ..constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS, HSE_STATUS_SUCCESS_AND_KEEP_CONN
from ..environ import ServerEnviron
from ..wire import send_response
from .completion import CompletionPort
from .proxy import ProxyECB
from .request_headers import RequestHeaders

log = logging.getLogger("dualfilter")


class FilterMiddleware:
    """The ISAPI extension object for ``extension`` wrapped in ``filter``.

    ``GetExtensionVersion`` and ``TerminateExtension`` go to the inner
    extension; so does any other attribute it has. ``io_threads`` is the number
    of threads that run the inner extension's IOCompletion callbacks.
    """

    def __init__(self, filter: Filter, extension: Any, *, io_threads: int = 4) -> None:
        self.filter = filter
        self.extension = extension
        #: What an extension is first shown of a request: all of it, derived tags translated.
        self.request_headers = RequestHeaders((), filter.etag_token)
        #: What it is shown when asked again (a redispatch): no range or conditional header.
        self.redispatch_headers = RequestHeaders(VALIDATOR_HEADERS, bodiless=True)
        self.completions = CompletionPort(io_threads)

    def GetExtensionVersion(self, vi: Any) -> Any:
        """Called once as IIS loads the extension: the inner extension's answer."""
        return self.extension.GetExtensionVersion(vi)

    def HttpExtensionProc(self, ecb: Any) -> Any:
        """Run one request through the inner extension, with a proxy ECB that filters its response
        (a request ``should_filter_request`` refuses gets the real ECB: no filter at all)."""
        flt = self.filter
        environ = ServerEnviron(ecb)
        if flt.asks_requests:
            refused = request_refused(flt, environ)
            if refused:  # should_filter_request raised: the clean 500, the extension not asked
                send_response(ecb, refused)
                return HSE_STATUS_SUCCESS
            if refused is not None:
                return self.extension.HttpExtensionProc(ecb)
        return self._dispatch(ecb, ResponseMachine(flt, environ, can_redispatch=True), self.request_headers)[0]

    def _dispatch(self, ecb: Any, machine: ResponseMachine, headers: RequestHeaders) -> tuple[Any, bool]:
        """One call of the inner extension for ``ecb``'s request, through a proxy
        that shows it the request ``headers`` allow; asked again when the machine says so.
        Returns its result, and whether the real session has ended already (the extension
        ended it with DoneWithSession before returning, as pywin32's samples do)."""
        return self._call(ProxyECB(ecb, self, machine, headers))

    def _call(self, proxy: ProxyECB) -> tuple[Any, bool]:
        """The inner extension's call through ``proxy`` (see :meth:`_dispatch`)."""
        ecb, machine = proxy._real, proxy._machine
        try:
            result = self.extension.HttpExtensionProc(proxy)
        except StreamError:
            proxy._abandon()
            if proxy._cut:  # the extension let the failed WriteClient's error out (the machine logged it)
                return HSE_STATUS_ERROR, False  # cut short: IIS closes the connection, and no error page follows the body
            raise
        except BaseException:
            proxy._abandon()
            raise
        if result != HSE_STATUS_PENDING:
            if proxy.ended:  # by its DoneWithSession, which asked again already if it had to
                return result, True
            if proxy.keep_for_callbacks(result):  # the session ends after the callback, with this result
                return HSE_STATUS_PENDING, False
            if not proxy._returned(result == HSE_STATUS_ERROR):
                return HSE_STATUS_ERROR, False  # cut short by a streaming filter: IIS closes the connection
            if proxy.asked_again:
                return self._dispatch(ecb, machine, self.redispatch_headers)
            if result == HSE_STATUS_SUCCESS_AND_KEEP_CONN and proxy.closes:
                return HSE_STATUS_SUCCESS, False  # the response ends with the connection (RFC 9112 section 6.3)
        return result, False

    def ask_again(self, ecb: Any, machine: ResponseMachine) -> None:
        """An answer the machine asked again for has ended (DoneWithSession): the
        extension is asked again, and the real session ends with that answer (once). This
        runs in the extension's DoneWithSession, where nothing of pywin32's catches an error:
        one is logged, and the session ends with HSE_STATUS_ERROR."""
        proxy = ProxyECB(ecb, self, machine, self.redispatch_headers)
        try:
            result, ended = self._call(proxy)
        except Exception:
            log.exception("%s: the ISAPI extension failed when asked again; ending the request", self.filter.name)
            if not proxy.ended:  # it may have ended the session before it failed
                ecb.DoneWithSession(HSE_STATUS_ERROR)
            return
        if result != HSE_STATUS_PENDING and not ended:
            # The answer's own status: an error, the connection kept (when _dispatch left it so), or done.
            ecb.DoneWithSession(result if result in (HSE_STATUS_ERROR, HSE_STATUS_SUCCESS_AND_KEEP_CONN) else HSE_STATUS_SUCCESS)

    def TerminateExtension(self, status: int) -> Any:
        """Called once as IIS unloads the extension."""
        try:
            return self.extension.TerminateExtension(status)
        finally:
            self.completions.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "extension":
            raise AttributeError(name)
        return getattr(self.extension, name)

    def __repr__(self) -> str:
        return f"<{self.filter.name} ISAPI middleware for {self.extension!r}>"
