"""``FilterMiddleware``: the filters named in ``DUALFILTER_FILTERS`` over every Django response.

Each response goes through a ResponseMachine, and what the machine answers is
set on the response object the view gave: its status, headers and content, or
streaming content. A response the filters leave alone is returned untouched.
A streaming response keeps streaming: its new ``streaming_content`` runs each
chunk through the machine, and is of the view's kind (sync or async), or of the
middleware's once the middleware began reading it. A 1xx, 204 or 304 gets no
body and no Content-Length. A HEAD of a filtered page becomes an empty streaming
response, so that no middleware above measures a length the GET does not have.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase, ResponseHeaders

from ..chain import chain, foldable
from ..decision import Decision, decide
from ..drivers import drive, drive_async
from ..errors import FilterError, StreamError
from ..events import PASSTHROUGH, REDISPATCH, Body, End, Event, ResponseStart
from ..filter import Filter
from ..headers import asks_close
from ..hosts import require_configured
from ..machine import ResponseMachine
from ..request_policy import REMOVED, RequestPolicy
from ..responses import error_response, reason_phrase, request_path, request_refused, unframed
from ..specs import SpecError, load
from .cookies import add_cookie_line

#: The setting that names the filters.
SETTING = "DUALFILTER_FILTERS"


def _entries() -> list[Filter]:
    """The filters ``DUALFILTER_FILTERS`` names, in its order, each checked as it is read."""
    entries = getattr(settings, SETTING, None)
    if not entries:
        raise MiddlewareNotUsed(f"{SETTING} is empty or not set")
    if not isinstance(entries, (list, tuple)):
        raise ImproperlyConfigured(f"{SETTING} must be a list of filter SPECs or Filter instances, not {entries!r}")
    filters: list[Filter] = []
    for entry in entries:
        if isinstance(entry, str):
            try:
                filters.append(load(entry))
            except SpecError as exc:
                raise ImproperlyConfigured(f"{SETTING}: {exc}") from exc
        elif isinstance(entry, Filter):
            try:
                require_configured(entry)
            except TypeError as exc:
                raise ImproperlyConfigured(f"{SETTING}: {exc}") from exc
            filters.append(entry)
        else:
            raise ImproperlyConfigured(f"{SETTING}: {entry!r} is neither a filter SPEC nor a Filter instance")
    return filters


def layers_from_settings() -> list[Filter]:
    """The filters ``DUALFILTER_FILTERS`` names as the layers that run them, the first
    (innermost) first, as repeated ``--filter`` nests them: entries in a row that
    :func:`~dualfilter.chain.foldable` allows (the same ``debug``, ``max_buffer_size``
    and ``oversize``) are chained into one layer, sharing one parse; the others run
    in turn, each with its own options."""
    groups: list[list[Filter]] = []
    for flt in _entries():
        if groups and foldable(flt, groups[-1][-1]):
            groups[-1].append(flt)
        else:
            groups.append([flt])
    return [group[0] if len(group) == 1 else chain(*reversed(group))() for group in groups]


def filter_from_settings() -> Filter:
    """The filter ``DUALFILTER_FILTERS`` names, as one: its entries chained so that the
    first filters first. (The middleware runs :func:`layers_from_settings`, which chains
    only the entries whose options agree.)"""
    filters = _entries()
    return filters[0] if len(filters) == 1 else chain(*reversed(filters))()


class FilterMiddleware:
    """Django middleware, sync and async: filters every response of the views
    (and middleware) below it; the request they see is what the filter allows."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        *inner, outer = layers_from_settings()
        for flt in inner:  # the first entries innermost, each layer around the one before
            get_response = FilterMiddleware._around(get_response, flt)
        self._setup(get_response, outer)

    @classmethod
    def _around(cls, get_response: Callable[[HttpRequest], Any], flt: Filter) -> FilterMiddleware:
        """A layer running ``flt`` around ``get_response``."""
        layer = cls.__new__(cls)
        layer._setup(get_response, flt)
        return layer

    def _setup(self, get_response: Callable[[HttpRequest], Any], flt: Filter) -> None:
        self.get_response = get_response
        self.filter = flt
        #: What this filter writes on a response it filtered (see :func:`_filtered_by`).
        self._mark = flt.validator_token()
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        flt = self.filter
        if flt.asks_requests:
            refused = request_refused(flt, request.META)
            if refused:  # should_filter_request raised: the clean 500, the view not asked
                return _answer(refused)
            if refused is not None:
                return self.get_response(request)
        return self._filter(request, self._ask(request, flt.request_policy.environ))

    def _ask(self, request: HttpRequest, shown: Callable[[Any], Any]) -> Any:
        """The response below to ``request`` shown as ``shown`` makes its META; the
        filter then reads the request as the client sent it."""
        hidden = self._show(request, shown)
        try:
            return self.get_response(request)
        finally:
            _restore(request, hidden)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        flt = self.filter
        if flt.asks_requests:  # the user's code: where Django runs sync code, never on the loop
            refused = await sync_to_async(request_refused, thread_sensitive=True)(flt, request.META)
            if refused:
                return _answer(refused)
            if refused is not None:
                return await self.get_response(request)
        return await self._filter_async(request, await self._ask_async(request, flt.request_policy.environ))

    async def _ask_async(self, request: HttpRequest, shown: Callable[[Any], Any]) -> Any:
        hidden = self._show(request, shown)
        try:
            return await self.get_response(request)
        finally:
            _restore(request, hidden)

    def _decide(self, request: HttpRequest, response: HttpResponseBase, headers: list[tuple[str, str]]) -> Decision:
        """What the filter does with the view's first answer."""
        meta = request.META
        return decide(self.filter, meta.get("REQUEST_METHOD", "GET"), response.status_code, headers, meta)

    def _filter(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if _filtered_before(request, response):
            return response  # filtered already: a cached page (FetchFromCacheMiddleware below), whatever filters made it
        headers = list(response.items())
        decision = self._decide(request, response, headers)
        if decision.untouched:
            return response  # as the view made it, without a machine
        machine = ResponseMachine(self.filter, request.META, can_redispatch=True)
        events = _drive(machine, machine.start(response.status_code, headers, decision=decision))
        chunks: Iterator[bytes] | None = None
        try:
            while True:
                if events and events[-1] is REDISPATCH:  # a 206 or 304 that may stand for a filtered page
                    _drop(response)
                    response, chunks = self._ask(request, _asked_again), None
                    headers = list(response.items())
                    events = _drive(machine, machine.start(response.status_code, headers))
                if _settled(events, response):
                    break
                if chunks is None:
                    chunks = iter(response)
                chunk = next(chunks, None)
                events += _drive(machine, machine.end() if chunk is None else machine.body(chunk))
        except StreamError:  # a streaming filter failed on a body still held here
            events = error_response(machine.error, self.filter.debug, head=request.method == "HEAD")
        except BaseException:  # the view's body failed as it was read: Django answers for it, and
            _drop(response)  # closes its own answer, not this one (its files are let go here)
            raise
        return _marked(request, _respond(request, response, headers, machine, events, chunks, False), machine, self._mark)

    async def _filter_async(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if _filtered_before(request, response):
            return response
        headers = list(response.items())
        if self.filter.default_decision:
            decision = self._decide(request, response, headers)
        else:  # the filter's own should_filter: where Django runs sync code, never on the loop
            decision = await sync_to_async(self._decide, thread_sensitive=True)(request, response, headers)
        if decision.untouched:
            return response  # as the view made it, without a machine
        machine = ResponseMachine(self.filter, request.META, can_redispatch=True)
        events = await _step(machine, machine.start, response.status_code, headers, decision=decision)
        chunks: AsyncIterator[bytes] | None = None
        try:
            while True:
                if events and events[-1] is REDISPATCH:
                    _drop(response)
                    response, chunks = await self._ask_async(request, _asked_again), None
                    headers = list(response.items())
                    events = await _step(machine, machine.start, response.status_code, headers)
                if _settled(events, response):
                    break
                if chunks is None:
                    chunks = aiter(response) if response.streaming else _async_chunks(response)
                chunk = await anext(chunks, None)
                events += await (_step(machine, machine.end) if chunk is None else _step(machine, machine.body, chunk))
            if chunks is not None and not isinstance(request, ASGIRequest) and type(events[-1]) is not End:
                # A sync handler (WSGI) serves this response after the event loop Django ran this
                # middleware in (for an async-only one below) is gone, and an async iterator begun
                # in that loop ends with it: the rest is read here, as Django reads an async stream it serves synchronously.
                events, chunks = await _read_out(machine, events, chunks), None
        except StreamError:
            events = error_response(machine.error, self.filter.debug, head=request.method == "HEAD")
        except BaseException:  # as in _filter
            _drop(response)
            raise
        return _marked(request, _respond(request, response, headers, machine, events, chunks, True), machine, self._mark)

    def _show(self, request: HttpRequest, policy: Callable[[Any], Any]) -> dict[str, Any]:
        """Make ``request.META`` what ``policy`` shows the views and middleware below,
        in place (``request.headers`` follows); returns what it changed."""
        meta = request.META
        shown = policy(meta)
        if shown is meta:
            return {}
        hidden = {key: value for key, value in meta.items() if shown.get(key, REMOVED) is not value}
        hidden.update((key, REMOVED) for key in shown.keys() - meta.keys())  # added: gone again after
        for key, value in hidden.items():
            if key in shown:
                meta[key] = shown[key]
            elif value is not REMOVED:
                del meta[key]
        request.__dict__.pop("headers", None)  # a cached HttpHeaders, rebuilt from META when read
        return hidden

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r}>"


#: The key in ``request.META`` that says the view is asked again (a redispatch).
ASKED_AGAIN = "dualfilter.asked_again"


def _asked_again(meta: dict[str, Any]) -> dict[str, Any]:
    """What a view asked again is shown: the request without its range and conditional
    headers, marked, so a ``process_view`` above the filter (which Django runs again
    from its innermost handler) may tell the second call."""
    return {**RequestPolicy.redispatch_environ(meta), ASKED_AGAIN: True}


log = logging.getLogger("dualfilter")


def _drive(machine: ResponseMachine, events: list[Event]) -> list[Event]:
    """``drive`` as Django runs async code from sync code: an ``async def`` filter through
    ``async_to_sync``, so its ``sync_to_async`` calls come back to the request's thread
    (where its database connection is) rather than wait on a thread that waits for them."""
    return drive(machine, events, _await_in_django)


def _await_in_django(awaitable: Any) -> Any:
    return async_to_sync(_awaited)(awaitable)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


async def _drive_async(machine: ResponseMachine, events: list[Event]) -> list[Event]:
    """``drive_async`` as Django runs sync code under ASGI: every synchronous call of the
    filter (``filter()``, a stream's ``feed``) in Django's thread for sync code
    (``sync_to_async(thread_sensitive=True)``), where the ORM works, never on the event loop."""
    return await drive_async(machine, events, _in_django_thread, all_sync=True)


async def _step(machine: ResponseMachine, call: Callable[..., list[Event]], *args: Any, **kwargs: Any) -> list[Event]:
    """A machine call (``start``, ``body``, ``end``) and its events driven, under ASGI. The
    machine asks the filter's own ``should_filter`` (a chain's stages') as it goes: a
    filter that has one gets the call in Django's thread for sync code, never on the loop."""
    if machine.filter.default_decision:
        events = call(*args, **kwargs)
    else:
        events = await sync_to_async(call, thread_sensitive=True)(*args, **kwargs)
    return await _drive_async(machine, events)


async def _in_django_thread(func: Callable[[], Any]) -> Any:
    return await sync_to_async(func, thread_sensitive=True)()


def _answer(events: list[Event]) -> HttpResponse:
    """The filter's own whole answer (a clean 500) as a response."""
    start = events[0]
    assert isinstance(start, ResponseStart)
    response = HttpResponse(b"".join(_data(events)), status=start.status, reason=start.reason or None)
    response.headers = ResponseHeaders(dict(start.headers))
    response._has_been_logged = True  # dualfilter logged it: Django's handler need not
    return response


def _drop(response: HttpResponseBase) -> None:
    """Let go of an answer that is asked again: its files closed, without
    ``close()``, which would tell Django the request is over."""
    for closer in getattr(response, "_resource_closers", ()):
        try:
            closer()
        except Exception:  # as Django's own close() does: freeing is best effort
            pass


def _restore(request: HttpRequest, hidden: dict[str, Any]) -> None:
    """Give ``request.META`` back what ``_show`` changed: the middleware above sees the request as it came."""
    if hidden:
        RequestPolicy.put_back(request.META, hidden)
        request.__dict__.pop("headers", None)


def _settled(events: list[Event], response: HttpResponseBase) -> bool:
    """Whether the machine's answer so far settles the response: it passes, it is
    complete, or (a streaming response) its start and first output are out and
    the rest streams."""
    return bool(events) and (response.streaming or events[-1] is PASSTHROUGH or type(events[-1]) is End)


#: The attribute naming the filters (by validator token) a response went through; an
#: instance attribute, so it is pickled with the response into Django's cache.
_FILTERED_BY = "_dualfilter_filtered_by"
#: The request's attribute holding the ids of the responses this request's layers filtered.
_FRESH = "_dualfilter_filtered_here"


def _filtered_by(response: HttpResponseBase) -> tuple[str, ...]:
    """The filters ``response`` went through already (a page from Django's cache was
    filtered before it was stored: it is not filtered again)."""
    return getattr(response, _FILTERED_BY, ())


def _filtered_before(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether ``response`` came up filtered already: a page from Django's cache, filtered
    before it was stored (whatever filters made it), not one a layer below this one
    filtered in this request (several layers run entries whose options differ)."""
    return bool(_filtered_by(response)) and id(response) not in request.__dict__.get(_FRESH, ())


def _marked(request: HttpRequest, response: HttpResponseBase, machine: ResponseMachine, mark: str) -> HttpResponseBase:
    """``response``, marked as filtered by the filter ``mark`` names when the machine filtered it."""
    if machine.decision is not None and machine.decision.wanted and not machine.own_answer:
        setattr(response, _FILTERED_BY, (*_filtered_by(response), mark))
        request.__dict__.setdefault(_FRESH, set()).add(id(response))
    return response


def _respond(
    request: HttpRequest,
    response: HttpResponseBase,
    headers: list[tuple[str, str]],
    machine: ResponseMachine,
    events: list[Event],
    rest: Any,
    is_async: bool,
) -> HttpResponseBase:
    """``response`` made what ``events`` say. ``rest`` is the iterator the body was
    being read from (``is_async``: an async one), if reading began; a body read here
    is handed on in the middleware's mode, a body not read yet in the view's own."""
    start = next(event for event in events if type(event) is ResponseStart)
    assert isinstance(start, ResponseStart)
    own = start.headers is headers and start.status == response.status_code
    answered = machine.own_answer
    if not own and not answered and (refused := _unsendable_cookie(start.headers, headers)) is not None:
        # Nothing has gone out yet: the clean 500 in the page's place, as for any header it cannot carry.
        log.error("%s failed on %s: %s", machine.filter.name, request_path(request.META), refused)
        _drop(response)
        events = error_response(refused, machine.filter.debug, head=request.META.get("REQUEST_METHOD") == "HEAD")
        start, rest, answered = events[0], None, True  # type: ignore[assignment]
    body = _data(events)
    serve_async = isinstance(request, ASGIRequest)  # what Django's handler reads without a warning
    if not own:
        _set_start(response, start, headers, answered)
        if serve_async and asks_close(headers) and not asks_close(start.headers):
            # The view asked the server to close the connection after this response: a field
            # of the connection, not of the page, which Django's ASGI handler sends and ASGI
            # servers honour (a WSGI server refuses it, so there the filter's drop stands).
            response["Connection"] = "close"
    if unframed(start.status):
        return _without_content(response, serve_async)
    if request.META.get("REQUEST_METHOD") == "HEAD":
        # The server drops a HEAD's body. With the view's own start (a page not filtered) the
        # middleware above sees the GET's page; a filtered page's length is not known here.
        return response if own else _unmeasurable(response, serve_async)
    last = events[-1]
    if last is PASSTHROUGH:
        if response.streaming and rest is not None:
            response.streaming_content = _chunks(body, rest, is_async)
    elif type(last) is End and not response.streaming:
        response.content = b"".join(body)
        if "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
    elif type(last) is End:  # read whole: of the kind the handler reads without a warning
        response.streaming_content = _chunks(body, None, serve_async)
    elif rest is not None:  # started, and reading began here: the rest is read on as it was
        response.streaming_content = (_feed_async if is_async else _feed)(machine, body, rest)
    elif response.is_async:  # started before any chunk was read: the machine filters the view's stream
        response.streaming_content = _feed_async(machine, body, response.streaming_content)
    else:
        response.streaming_content = _feed(machine, body, response.streaming_content)
    return response


def _without_content(response: HttpResponseBase, serve_async: bool) -> HttpResponseBase:
    """``response`` with an empty body; the view's stream is not read (its closers still run).
    A stream gives one empty chunk: a server given none says ``Content-Length: 0``
    of its own (wsgiref does), which a HEAD's length must not say unless the GET's is 0."""
    if response.streaming:
        response.streaming_content = _chunks([b""], None, serve_async)
    else:
        response.content = b""
    return response


def _unmeasurable(response: HttpResponseBase, serve_async: bool) -> HttpResponseBase:
    """``response`` as an empty streaming response, whose length no middleware above can
    take for the GET's (CommonMiddleware measures ``content``): the same status, headers,
    cookies, closers and attributes (``xframe_options_exempt``...), of the handler's kind."""
    if response.streaming:
        return _without_content(response, serve_async)
    empty: Any = object.__new__(_streaming(type(response)))  # made by the view: no __init__ again
    empty.__dict__.update((name, value) for name, value in response.__dict__.items() if name != "_container")
    for klass in type(response).__mro__:  # attributes a class keeps in __slots__ too
        for name in getattr(klass, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(response, name):
                try:
                    setattr(empty, name, getattr(response, name))
                except AttributeError:
                    pass  # a slot the streaming class lacks (it fell back to a plain StreamingHttpResponse)
    empty.status_code = response.status_code  # a class attribute of HttpResponseNotFound and the like
    empty.streaming_content = _chunks([b""], None, serve_async)
    return empty


#: The streaming classes :func:`_streaming` made, by the view's response class.
_STREAMING: dict[type, type] = {}


def _streaming(kind: type) -> type:
    """A streaming response class that is still a ``kind``: what the class gives (a
    redirect's ``url``, ``isinstance``) survives as the response stops being measurable."""
    made = _STREAMING.get(kind)
    if made is None:
        try:
            made = type(f"Streaming{kind.__name__}", (StreamingHttpResponse, kind), {"__module__": __name__})
        except TypeError:  # a class that cannot be subclassed so (its __init_subclass__ wants arguments...)
            made = StreamingHttpResponse
        _STREAMING[kind] = made
    return made


def _set_start(response: HttpResponseBase, start: ResponseStart, original: list[tuple[str, str]], answered: bool) -> None:
    """The machine's status and headers on ``response``. Several field lines of one
    name are joined with ``", "``, but Set-Cookie lines never are: the view's own
    (as many as it sent) stay headers, any other goes to ``response.cookies``, as
    written. The machine's own answer (an error page, a 412) drops the view's cookies. A
    new Content-Type names the charset ``response.charset`` reports."""
    if start.status != response.status_code:
        response.status_code = start.status
        response.reason_phrase = start.reason or reason_phrase(start.status)
    if answered:
        response.cookies = SimpleCookie()
        if start.status >= 500:
            response._has_been_logged = True  # dualfilter logged it: Django's handler need not
    content_type = response.headers.get("Content-Type")
    fields = response.headers = ResponseHeaders({})
    views = Counter(value for name, value in original if name.lower() == "set-cookie")
    for name, value in start.headers:
        if name.lower() == "set-cookie":
            if views[value] and name not in fields:
                views[value] -= 1
                fields[name] = value
            else:
                add_cookie_line(response.cookies, value)
        elif name not in fields:
            fields[name] = value
        else:
            fields[name] = f"{fields[name]}, {value}"
    if fields.get("Content-Type") != content_type:
        response.charset = None  # Django reads it from the new Content-Type (its default if none)


def _unsendable_cookie(fields: list[tuple[str, str]], original: list[tuple[str, str]]) -> FilterError | None:
    """The error for a Set-Cookie line the filter added that is not ASCII, else None. A cookie
    line is ASCII (RFC 6265 section 4.1.1), and Django's ASGI handler sends no other: it
    would fail after the response left the middleware, with no clean 500."""
    views = {value for name, value in original if name.lower() == "set-cookie"}
    for name, value in fields:
        if name.lower() == "set-cookie" and value not in views and not value.isascii():
            return FilterError(f"header {name!r}: {value!r} is not ASCII, as a cookie line must be (RFC 6265 section 4.1.1)")
    return None


def _chunks(body: list[bytes], rest: Any, is_async: bool) -> Iterable[bytes] | AsyncIterator[bytes]:
    """``body``, then ``rest`` if given: a sync iterable, or an async one for async servers."""
    if not is_async:
        return itertools.chain(body, rest or ())

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in body:
            yield chunk
        if rest is not None:
            async for chunk in rest:
                yield chunk

    return chunks()


async def _read_out(machine: ResponseMachine, events: list[Event], chunks: AsyncIterator[bytes]) -> list[Event]:
    """``events`` and those of the rest of ``chunks``, read to their end: as they came
    once the machine passes them through, else through it (a stream's output)."""
    passing = events[-1] is PASSTHROUGH
    if passing:
        events = events[:-1]
    async for chunk in chunks:
        events += [Body(chunk)] if passing else await _step(machine, machine.body, chunk)
    return [*events, End()] if passing else events + await _step(machine, machine.end)


async def _async_chunks(response: HttpResponseBase) -> AsyncIterator[bytes]:
    for chunk in response:
        yield chunk


def _data(events: list[Event]) -> list[bytes]:
    return [event.data for event in events if type(event) is Body]


def _feed(machine: ResponseMachine, first: list[bytes], chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The output so far, then the rest of a streaming response through the
    machine; StreamError cuts it short."""
    try:
        yield from first
        for chunk in chunks:
            yield from _data(_drive(machine, machine.body(chunk)))
        yield from _data(_drive(machine, machine.end()))
    finally:  # closed before its end (the client went away): the filter's stream lets go now
        machine.abandon()


async def _feed_async(machine: ResponseMachine, first: list[bytes], chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``_feed`` for an async iterator (ASGI); an ``async def`` filter is awaited."""
    try:
        for data in first:
            yield data
        async for chunk in chunks:
            for data in _data(await _step(machine, machine.body, chunk)):
                yield data
        for data in _data(await _step(machine, machine.end)):
            yield data
    finally:  # closed before its end (the client went away): the filter's stream lets go now
        machine.abandon()
