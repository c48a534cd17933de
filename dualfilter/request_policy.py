"""What the app is shown of the request: one policy object per filter, used by every host.

A response that is not filtered must get the app's own 206 and 304 answers, so
a host that can ask the app again (WSGI, ASGI, Django, the ISAPI extension)
shows it a safe request (GET, HEAD) as the client sent it — derived entity
tags in If-None-Match shown as the app's own (``dualfilter.validators``) — and
the response machine asks for a *redispatch* when the app answers a filtered
type with a partial, a 416, or a 304 that may not stand for the filtered page:
the same request again, without its range and conditional headers
(:meth:`redispatch_environ`, :meth:`redispatch_pairs`), whose full 200 is then
filtered (and its ranges served from the filtered body). A request that
carried no range or conditional header is not asked again
(:meth:`may_redispatch`): it would be the very same request.

A host that cannot ask twice — the ISAPI filter, which sees only what IIS
sends — hides :attr:`removed` from every request — Range, If-Range and
If-Modified-Since, and If-None-Match under ``force_no_conditional``, else every
tag in it but the app's own for derived ones (:meth:`translate_derived`): a filtered type then never
comes back as a 206 or a 304 of the unfiltered body, at the cost of those
answers for every response. Each host asks this one policy about its own
request structure: a WSGI environ, ASGI header pairs, ISAPI server variables
and raw header blocks.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .validators import translate_if_none_match

if TYPE_CHECKING:
    from .filter import Filter

RANGE_HEADERS = frozenset({"range", "if-range"})
CONDITIONAL_HEADERS = frozenset({"if-modified-since", "if-none-match"})
#: What a redispatch leaves out: every header that can make the app answer other than a full 200.
VALIDATOR_HEADERS = RANGE_HEADERS | CONDITIONAL_HEADERS | {"if-match", "if-unmodified-since"}
#: The methods the app may be asked twice (RFC 9110 section 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD"})


def environ_key(name: str) -> str:
    """``'if-none-match'`` -> ``'HTTP_IF_NONE_MATCH'``."""
    return "HTTP_" + name.upper().replace("-", "_")


_VALIDATOR_KEYS = tuple(environ_key(name) for name in sorted(VALIDATOR_HEADERS))
#: The request content's description, gone with the content from a redispatch.
_CONTENT_KEYS = frozenset({"CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_TRANSFER_ENCODING", "wsgi.input_terminated"})
#: The environ keys a redispatch of a WSGI app removes (its content's description is set anew).
_REDISPATCH_WSGI_KEYS = tuple(sorted(set(_VALIDATOR_KEYS) | _CONTENT_KEYS))
_VALIDATOR_NAMES = frozenset(name.encode("latin-1") for name in VALIDATOR_HEADERS)
_CONTENT_NAMES = frozenset({b"content-length", b"content-type", b"transfer-encoding"})


class _Removed:
    """The value, among the request's own values a host hid to show the app something else
    (:meth:`RequestPolicy.show_redispatch`, Django's ``request.META``), of a key the request did not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REMOVED"


#: See :class:`_Removed`: :meth:`RequestPolicy.put_back` removes such a key again.
REMOVED: Any = _Removed()


class RequestPolicy:
    """The request headers one filter removes or translates, for every host."""

    __slots__ = ("removed", "token")

    def __init__(self, flt: Filter) -> None:
        #: Lower-case names of the request headers a host that cannot redispatch hides
        #: (If-Modified-Since always: a date cannot tell a filtered page from the app's).
        self.removed = RANGE_HEADERS | CONDITIONAL_HEADERS if flt.force_no_conditional else RANGE_HEADERS | {"if-modified-since"}
        #: The filter's validator token when If-None-Match is translated, else None.
        self.token = flt.etag_token

    def translate(self, value: str) -> str:
        """An If-None-Match value as the app sees it: its own tag for each derived one."""
        assert self.token is not None
        return translate_if_none_match(value, self.token)

    def translate_derived(self, value: str) -> str:
        """An If-None-Match value with only the app's own tags for the derived
        ones (empty when it holds none, or for ``*``), for a host that cannot ask twice."""
        assert self.token is not None
        return translate_if_none_match(value, self.token, only_derived=True)

    # -- hosts that can ask the app again: the request as the client sent it ------------

    def environ(self, environ: dict[str, Any]) -> dict[str, Any]:
        """A WSGI environ as the app should first see it: unchanged, but for
        derived tags in If-None-Match (a copy only then)."""
        if self.token is None or "HTTP_IF_NONE_MATCH" not in environ:
            return environ
        shown = dict(environ)
        self.show(shown)
        return shown

    def show(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """Make ``environ`` what :meth:`environ` gives, in place: the request's own
        values it replaced (for :meth:`put_back`), or None when it changes nothing."""
        value = environ.get("HTTP_IF_NONE_MATCH") if self.token is not None else None
        if value is None:
            return None
        environ["HTTP_IF_NONE_MATCH"] = self.translate(value)
        return {"HTTP_IF_NONE_MATCH": value}

    def pairs(self, pairs: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]] | None:
        """ASGI ``(name, value)`` byte pairs as the app should first see them, or
        None when the policy changes nothing in them."""
        if self.token is None:
            return None
        values = [value for name, value in pairs if name.lower() == b"if-none-match"]
        if not values:
            return None
        # Several field lines are one list (RFC 9110 section 5.3): translated as one,
        # and shown as one line where the first stood.
        joined: bytes | None = self.translate(b", ".join(bytes(value) for value in values).decode("latin-1")).encode("latin-1")
        shown: list[tuple[bytes, bytes]] = []
        for name, value in pairs:
            if name.lower() != b"if-none-match":
                shown.append((name, value))
            elif joined is not None:
                shown.append((name, joined))
                joined = None
        return shown

    # -- a redispatch: the same request, asking for the full 200 -----------------------

    @staticmethod
    def may_redispatch(environ: Mapping[str, Any]) -> bool:
        """Whether asking the app this request again could get another answer:
        a safe method with a range or conditional header (without one, the app
        would be asked the very same request)."""
        if environ.get("REQUEST_METHOD", "GET") not in SAFE_METHODS:
            return False
        if type(environ) is dict:
            return not environ.keys().isdisjoint(_VALIDATOR_KEYS)  # in C, looking up the few keys
        return any(key in environ for key in _VALIDATOR_KEYS)

    @staticmethod
    def if_match_fails(environ: Mapping[str, Any]) -> bool:
        """Whether the request's If-Match is false for a filtered page: a GET or
        HEAD naming entity tags (not ``*``) compares them strongly (RFC 9110
        section 13.1.1), and a filtered page has no strong tag; a client resuming
        a download it began before would splice filtered bytes onto the app's."""
        condition = environ.get("HTTP_IF_MATCH")
        if condition is None or environ.get("REQUEST_METHOD", "GET") not in SAFE_METHODS:
            return False
        return bool(condition.strip() != "*")

    @staticmethod
    def may_redispatch_scope(scope: Mapping[str, Any]) -> bool:
        """:meth:`may_redispatch` for an ASGI scope (a plain loop, on every request; the
        spec says header names should be lower-cased, not that they must be)."""
        if scope.get("method", "GET") not in SAFE_METHODS:
            return False
        for name, _ in scope.get("headers", ()):
            if name in _VALIDATOR_NAMES or name.lower() in _VALIDATOR_NAMES:
                return True
        return False

    @staticmethod
    def redispatch_environ(environ: Mapping[str, Any]) -> dict[str, Any]:
        """``environ`` without any range or conditional header: what a redispatch asks."""
        return {key: value for key, value in environ.items() if key not in _VALIDATOR_KEYS}

    @staticmethod
    def show_redispatch(environ: dict[str, Any]) -> dict[str, Any]:
        """Make a WSGI app's ``environ`` a redispatch's, in place: :meth:`redispatch_environ`'s
        headers gone, and the request content, which the app reads from ``wsgi.input``: the
        first call read it (a server's input may be the socket itself, where reading again
        would wait for bytes that never come), so the second gets none, and an environ that
        says so. Returns the request's own values it replaced or removed, for :meth:`put_back`,
        but for ``wsgi.input``: the empty one stays, so an app that reads on after it started
        never waits on the server's, which the first call drained."""
        pop = environ.pop
        hidden = {key: pop(key) for key in _REDISPATCH_WSGI_KEYS if key in environ}
        hidden.setdefault("CONTENT_LENGTH", REMOVED)
        environ["wsgi.input"] = io.BytesIO()
        environ["CONTENT_LENGTH"] = "0"
        return hidden

    @staticmethod
    def put_back(environ: dict[str, Any], hidden: dict[str, Any]) -> None:
        """Undo :meth:`show` or :meth:`show_redispatch`: ``hidden`` is what it returned
        (``REMOVED``: a key the request did not have)."""
        for key, value in hidden.items():
            if value is REMOVED:
                environ.pop(key, None)
            else:
                environ[key] = value

    @staticmethod
    def redispatch_pairs(pairs: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """ASGI header pairs without any range or conditional header. The second call
        gets no request content (the first read it): a request that had some says
        ``content-length: 0`` instead of its content's description, as WSGI's environ does."""
        shown = []
        had_content = False
        for name, value in pairs:
            lowered = name.lower()
            if lowered in _CONTENT_NAMES:
                had_content = True
            elif lowered not in _VALIDATOR_NAMES:
                shown.append((name, value))
        if had_content:
            shown.append((b"content-length", b"0"))
        return shown
