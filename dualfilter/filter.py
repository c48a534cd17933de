"""The ``Filter`` base class: what users subclass to write an output filter."""

from __future__ import annotations

import codecs
import hashlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Protocol, TypeVar, cast, overload

from . import charsets, formats, hosts, mediatypes, streaming
from .apps import ASGIApplication, ISAPIExtension, WSGIApplication, WSGIMiddleware
from .errors import FilterError
from .headers import Headers, get_all
from .options import built_option_names, check_options, check_types, convert_options, option_names
from .request_policy import RequestPolicy

App = TypeVar("App", contravariant=True)
Wrapped = TypeVar("Wrapped", covariant=True)
_F = TypeVar("_F", bound="Filter")


class Wrap(Protocol[App, Wrapped]):
    """What ``Filter.wsgi`` / ``.asgi`` / ``.isapi`` are: an app in, an app of the same host out."""

    def __call__(self, app: App, /, **options: Any) -> Wrapped: ...


class HostWrapper(Generic[App, Wrapped]):
    """``Filter.wsgi`` / ``.asgi`` / ``.isapi``: on the class, build a filter from
    keyword options and wrap ``app``; on a configured instance, wrap ``app`` in
    that very instance (so ``Replace(pattern="a").wsgi(app)`` keeps its options)."""

    def __init__(self, host: str, doc: str) -> None:
        self.host = host
        self.__doc__ = doc

    def __get__(self, instance: Filter | None, owner: type[Filter]) -> Wrap[App, Wrapped]:
        host = self.host

        def wrap(app: Any, **options: Any) -> Any:
            if instance is None:
                return hosts.wrap(owner(**options), app, host)
            if options:
                raise TypeError(f"options go to the constructor: {owner.__name__}({', '.join(options)}=...).{host}(app)")
            return hosts.wrap(instance, app, host)

        wrap.__doc__ = self.__doc__
        return cast("Wrap[App, Wrapped]", wrap)


class ISAPIFilterMaker:
    """``Filter.isapi_filter(**options)``: an ISAPI filter object (what ``__FilterFactory__``
    returns) that filters every response IIS sends. On the class it builds the filter from
    the options; on a configured instance it uses that instance. ``notify_order``,
    ``description`` and ``strip_request_headers`` set its ISAPI side."""

    def __get__(self, instance: Filter | None, owner: type[Filter]) -> Callable[..., Any]:
        target: Any = owner if instance is None else instance

        def isapi_filter(**options: Any) -> Any:
            return hosts.isapi_filter(target, **options)

        isapi_filter.__doc__ = self.__doc__
        return isapi_filter


#: The options that are True or False.
_SWITCHES = ("filter_all_status", "decode_unicode", "force_no_conditional", "debug")


def _iterable(value: Any) -> Iterable[Any]:
    """``value``'s items, or a list holding ``value`` when it has none."""
    try:
        return list(value)
    except TypeError:
        return [value]


class _Configured:
    """Where ``Filter.__init__`` is defined: one class above ``Filter.__new__``, so
    type checkers read the constructor's type from ``__new__`` (``MyFilter(app)``
    is a middleware of the app's host, not a ``MyFilter``)."""

    #: Whether the options have been read (``_configure`` ran): they are fixed from then on.
    _built = False

    def __init__(self, app: Any = None, **options: Any) -> None:
        check_options(type(self), options)
        for name, value in options.items():
            setattr(self, name, value)
        self.app = app
        self._configure()
        self._built = True

    def __setattr__(self, name: str, value: Any) -> None:
        # A built filter has read its options into what every response uses (the
        # decision's media types, the body's view, the request policy): one set now
        # would be half ignored, so it is refused, saying where options go.
        if self._built and name in built_option_names(type(self)):
            cls = type(self).__name__
            raise AttributeError(
                f"{cls}.{name} is read when the filter is built: pass it there ({cls}({name}=...)),"
                " set it as a class attribute, or set it before super().__init__() in an __init__ of your own"
            )
        object.__setattr__(self, name, value)

    def _configure(self) -> None:
        """Check the options once and precompute what every response needs (``Filter`` defines it)."""


#: The hooks a subclass may define, and the arguments the hosts call them with (placeholders).
_HOOK_NAMES = {
    "filter": ("environ", "headers", "data"),
    "stream": ("environ", "headers"),
    "should_filter": ("environ", "status", "headers"),
    "should_filter_request": ("environ",),
}
_HOOK_ARGS = tuple((hook, tuple(None for _ in names)) for hook, names in _HOOK_NAMES.items())
#: Text codecs that write no page: what output_encoding may not name.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})


class Filter(_Configured):
    """An output filter: subclass it, write ``filter()``, wrap any app with it.

    ``MyFilter(app, **options)`` returns a middleware for the app's host (WSGI,
    ASGI or ISAPI, detected); ``MyFilter(**options)`` returns a configured
    filter for ``chain``, ``dualfilter.testing`` and the explicit constructors.
    Every public class attribute below, and any a subclass adds, can be set
    per instance by keyword.
    """

    #: Media-type patterns to filter (``text/html``, ``text/*``, ``*/*+xml``).
    filter_content_types: tuple[str, ...] = ("text/html",)
    #: Filter every status that has a body, not only 200.
    filter_all_status: bool = False
    #: Hand ``filter()`` a ``str`` decoded by the response charset instead of bytes.
    decode_unicode: bool = False
    #: A format name (``'lxml_html'``, ``'lxml_xml'``, ``'json'``) or Format object.
    format: str | formats.Format | None = None
    #: Pick the format by the object type wanted (``'lxml.etree'``, ``'python'``).
    format_output: str | None = None
    #: Charset for text output the response's own charset cannot encode.
    output_encoding: str = "utf-8"
    #: Drop If-Modified-Since / If-None-Match so the app sends full bodies.
    force_no_conditional: bool = True
    #: Codec error handler for ``decode_unicode`` (``'strict'`` gives a 500).
    unicode_errors: str = "strict"
    #: Largest body (decoded) buffered for filtering, in bytes.
    max_buffer_size: int = 32 * 1024 * 1024
    #: What a larger response gets: ``'error'`` (a 502) or ``'pass'`` (unfiltered).
    oversize: str = "error"
    #: Under ASGI, run a sync ``filter()`` in a worker thread for bodies of at
    #: least this many bytes (0: always, None: never).
    thread_threshold: int | None = 256 * 1024
    #: Put the traceback in the 500 page when the filter fails.
    debug: bool = False

    app: Any
    #: The filters a chain runs, outermost first; empty for a plain filter.
    _stages: tuple[Filter, ...] = ()

    # What ``MyFilter(...)`` gives, for type checkers: no app, the filter itself;
    # an app, a middleware of the app's host (hence the ignores: not a Filter).
    # The app is positional there, so ``add_middleware(MyFilter, **options)`` checks.
    @overload
    def __new__(cls: type[_F], app: None = None, **options: Any) -> _F: ...
    @overload
    def __new__(cls, app: ISAPIExtension, /, **options: Any) -> ISAPIExtension: ...  # type: ignore[misc]
    @overload
    def __new__(cls, app: ASGIApplication, /, **options: Any) -> ASGIApplication: ...  # type: ignore[misc]
    @overload
    def __new__(cls, app: WSGIApplication, /, **options: Any) -> WSGIMiddleware: ...  # type: ignore[misc]

    def __new__(cls, app: Any = None, **options: Any) -> Any:  # type: ignore[misc]  # app= by keyword too: older Starlettes pass it so
        instance = super().__new__(cls)
        if app is None:
            return instance
        # A middleware is not a Filter, so Python will not run __init__: do it.
        instance.__init__(app, **options)  # type: ignore[misc]
        return hosts.wrap(instance, app)

    if not TYPE_CHECKING:  # hidden from checkers, so that they flag the mistake too

        def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
            """A configured filter is not a middleware: say how to use it instead."""
            raise TypeError(hosts.misuse_message(self))

    def _configure(self) -> None:
        """Check the options once and precompute what every response needs."""
        if self.oversize not in ("error", "pass"):
            raise ValueError(f"oversize must be 'error' or 'pass', not {self.oversize!r}")
        if not isinstance(self.max_buffer_size, int) or isinstance(self.max_buffer_size, bool) or self.max_buffer_size <= 0:
            raise ValueError(f"max_buffer_size must be a positive int, not {self.max_buffer_size!r}")
        threshold = self.thread_threshold
        if threshold is not None and (not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0):
            raise ValueError(f"thread_threshold must be an int of 0 or more, or None, not {threshold!r}")
        try:
            codecs.lookup_error(self.unicode_errors)
            try:
                b"\xff".decode("utf-8", self.unicode_errors)  # one that can read: xmlcharrefreplace only writes
            except UnicodeDecodeError:
                pass  # strict, or a handler of its own that refuses: it reads
        except (LookupError, TypeError):
            raise ValueError(
                f"unicode_errors must name a codec error handler that decodes, not {self.unicode_errors!r}"
            ) from None
        try:
            codec = codecs.lookup(charsets.lookup(self.output_encoding))
        except (FilterError, AttributeError, TypeError, LookupError):
            raise ValueError(f"output_encoding must name a charset, not {self.output_encoding!r}") from None
        if not codec._is_text_encoding or codec.name in _NOT_CHARSETS:  # rot13, base64, idna...: no page is written so
            raise ValueError(f"output_encoding must name a charset, not {self.output_encoding!r} (a codec of another kind)")
        for name in _SWITCHES:
            if not isinstance(getattr(self, name), bool):  # "false" from an environment variable is true
                raise TypeError(f"{name} must be True or False, not {getattr(self, name)!r}")
        check_types(self)  # every option annotated with one simple type, a subclass's too
        types_given = self.filter_content_types
        if isinstance(types_given, str):
            self.filter_content_types = (types_given,)
        elif types_given is not Filter.filter_content_types:
            items = _iterable(types_given)  # read once: a generator is used up by reading it
            if isinstance(types_given, (bytes, bytearray)) or not all(isinstance(t, str) for t in items):
                raise TypeError(f"filter_content_types must be a media type or several (str), not {types_given!r}")
            self.filter_content_types = tuple(items)
        if self.format is not None and not isinstance(self.format, (str, formats.Format)):
            raise TypeError(f"format must be a format's name (str) or a Format, not {self.format!r}")
        if self.format_output is not None and not isinstance(self.format_output, str):
            raise TypeError(f"format_output must be an object type's name (str), not {self.format_output!r}")
        self._format = formats.get(self.format) if self.format is not None else None
        if self._format is None and self.format_output is not None:
            formats.check_output(self.format_output)
        types = self.filter_content_types
        if types is Filter.filter_content_types:  # not set: the format's types
            if self._format is not None:
                types = self._format.media_types
            elif self.format_output is not None:
                types = formats.media_types_for(self.format_output)
        self._content_types = mediatypes.patterns(types)
        self.is_async = inspect.iscoroutinefunction(self.filter)
        #: Whether filter() takes the body's bytes as they are (no format, no decoding).
        self._plain_bytes = self._format is None and self.format_output is None and not self.decode_unicode
        #: Whether filter() takes the body decoded to text, and nothing else (the machine's direct path).
        self._plain_text = (
            self._format is None
            and self.format_output is None
            and self.decode_unicode
            and type(self).format_for is Filter.format_for
        )
        #: The filters a response goes through, in the order they run (innermost first).
        self._run_order: tuple[Filter, ...] = (self._stages or (self,))[::-1]
        # When should_filter is not overridden the machine asks accepts() directly.
        self.default_decision = type(self).should_filter is Filter.should_filter
        #: Whether should_filter_request is overridden: hosts ask it only then.
        self.asks_requests = type(self).should_filter_request is not Filter.should_filter_request
        #: The memo of default decisions (see dualfilter.decision).
        self._decisions: dict[tuple[bool, int | str, str | bytes | None, str | bytes | None], Any] = {}
        # A filter with stream() filters bytes or text chunk by chunk (not a format's objects).
        stream = getattr(type(self), "stream", None)
        if inspect.iscoroutinefunction(stream):
            raise TypeError(
                f"{type(self).__qualname__}.stream() is async def: it must be a plain def returning the "
                "stream (feed/finish are plain too); make filter() async def for async work"
            )
        for hook in ("should_filter_request", "should_filter"):
            # Its coroutine, never awaited, would count as True: every request filtered.
            if inspect.iscoroutinefunction(getattr(type(self), hook)):
                raise TypeError(
                    f"{type(self).__qualname__}.{hook}() is async def: it must be a plain def returning "
                    "True or False (it decides before any await); make filter() async def for async work"
                )
        self._check_hooks()
        self.is_streaming = (
            callable(stream) and stream is not Filter.stream and self._format is None and self.format_output is None
        )
        self.etag_token = None if self.force_no_conditional else self.validator_token()
        #: What the app is shown of each request (every host asks this one object).
        self.request_policy = RequestPolicy(self)

    def _check_hooks(self) -> None:
        """A filter that could never work is refused when it is built, not with a 500 on
        every page: it must define ``filter()`` or ``stream()``, and each hook it defines
        must take what the hosts give it."""
        cls = type(self)
        name = cls.__qualname__
        if cls is not Filter and cls.filter is Filter.filter and cls.stream is Filter.stream and not self._stages:
            raise TypeError(f"{name} defines neither filter(self, environ, headers, data) nor stream(self, environ, headers)")
        if cls.filter is not Filter.filter and inspect.isasyncgenfunction(cls.filter):
            raise TypeError(f"{name}.filter() is an async generator: make it async def returning the new body")
        for hook, args in _HOOK_ARGS:
            method = getattr(self, hook, None)
            if getattr(cls, hook, None) is getattr(Filter, hook):
                continue  # the default
            if not callable(method):
                raise TypeError(f"{name}.{hook} must be a method, not {method!r}")
            try:
                signature = inspect.signature(method)
            except (TypeError, ValueError):  # no signature to read (a builtin): trusted
                continue
            try:
                signature.bind(*args)
            except TypeError as exc:
                wanted = ", ".join(["self", *_HOOK_NAMES[hook]])
                raise TypeError(f"{name}.{hook}() must take ({wanted}): {exc}") from None

    # -- what subclasses write ------------------------------------------------

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: Any) -> Any:
        """Return the new body for ``data``; edit ``headers`` in place if needed.

        ``data`` is bytes, str (``decode_unicode``) or the format's object; return
        the same kind (bytes or str may also be an iterable of chunks).
        A streaming filter need not define it: by default its stream runs over
        the whole body.
        """
        if self.is_streaming:
            stream = self.stream(environ, headers)
            if stream is not None:
                return streaming.run_whole(stream, data)
        raise NotImplementedError(f"{type(self).__name__} must define filter()")

    def stream(self, environ: Mapping[str, Any], headers: Headers) -> streaming.Stream | None:
        """Optional: a :class:`~dualfilter.streaming.Stream` that filters this
        response chunk by chunk, or None to filter it buffered with ``filter()``.

        Called once per response to filter, before any body; edit ``headers``
        here. A response with a Content-Encoding, or (with ``decode_unicode``)
        no declared charset, is filtered buffered, with ``filter()``. It and
        the stream's methods are plain functions (``async def`` is refused when
        the filter is built); ``filter()`` may be ``async def``.
        """
        return None

    def _open_stream(self, environ: Mapping[str, Any], status: int, headers: Headers) -> streaming.Stream | None:
        """The bytes stream the response machine drives for this response, or None to buffer."""
        return streaming.open_stream(self, environ, headers)

    def should_filter_request(self, environ: Mapping[str, Any]) -> bool:
        """Whether this request's response may be filtered at all, asked before
        the app runs. False lets the request reach the app untouched and its
        response pass as it comes, at no cost (its 206 and 304 answers too):
        static files, downloads, APIs. By default every request may be."""
        return True

    def _refused_stages(self, environ: Mapping[str, Any]) -> frozenset[int]:
        """The ids of the stages whose ``should_filter_request`` refused this
        request: a chain's (``dualfilter.chain``); a plain filter has none."""
        return frozenset()

    def should_filter(self, environ: Mapping[str, Any], status: int, headers: Headers) -> bool:
        """Whether this response is filtered: status 200 (or any, with
        ``filter_all_status``) and a media type in ``filter_content_types``.

        HEAD requests and bodiless statuses are never filtered, whatever this says.
        """
        items = mediatypes.content_type_items(", ".join(get_all(headers.list, "content-type")))
        return any(self.accepts(status, mediatypes.parse_content_type(item)[0]) for item in items)

    def accepts(self, status: int, media_type: str) -> bool:
        """The default decision on a status and a (lower-case) media type."""
        if status != 200 and not self.filter_all_status:
            return False
        return bool(media_type) and mediatypes.matches(media_type, self._content_types)

    def format_for(self, media_type: str) -> formats.Format | None:
        """The format this filter parses a ``media_type`` body with, or None for
        bytes/str; LookupError when ``format_output`` has none for the type."""
        if self._format is not None:
            return self._format
        if self.format_output is None:
            return None
        fmt = formats.for_output(self.format_output, media_type)
        if fmt is None:
            raise LookupError(f"no format gives {self.format_output!r} for {media_type or 'no media type'}")
        return fmt

    def validator_token(self) -> str:
        """What a derived ETag says of this filter: a short hash of its class and
        options, so changing either changes every derived tag. Override it if
        the output depends on anything else (see ``dualfilter.validators``)."""
        options = sorted((name, _stable_repr(getattr(self, name))) for name in option_names(type(self)))
        identity = f"{type(self).__module__}.{type(self).__qualname__}:{options}"
        return hashlib.sha256(identity.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        """The filter's name in logs and error pages."""
        return type(self).__qualname__

    # -- wrapping apps ------------------------------------------------------------

    wsgi: HostWrapper[WSGIApplication, WSGIMiddleware] = HostWrapper("wsgi", "Wrap a WSGI application.")
    asgi: HostWrapper[ASGIApplication, ASGIApplication] = HostWrapper("asgi", "Wrap an ASGI 3 application.")
    isapi: HostWrapper[ISAPIExtension, ISAPIExtension] = HostWrapper("isapi", "Wrap a pywin32 ISAPI extension object.")

    isapi_filter = ISAPIFilterMaker()

    @classmethod
    def paste_deploy_middleware(cls, app: Any, global_conf: Mapping[str, Any] | None = None, **local_conf: Any) -> Any:
        """Paste Deploy ``filter_app_factory``: ini strings become typed options."""
        return cls.wsgi(app, **convert_options(cls, local_conf))

    def __repr__(self) -> str:
        return f"<{self.name} filter>"


def _stable_repr(value: Any) -> str:
    """An option's value as text that is the same in every process: its repr, unless that
    holds a memory address (``<function f at 0x...>``); then a function, class or module by
    its dotted name, a container item by item, an lxml document by its serialized bytes,
    any other object by its type's name."""
    text = repr(value)
    if " at 0x" not in text:
        return text
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}({', '.join(_stable_repr(item) for item in value)})"
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}({', '.join(sorted(_stable_repr(item) for item in value))})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_stable_repr(key)}: {_stable_repr(item)}" for key, item in value.items()) + "}"
    qualname = getattr(value, "__qualname__", None)
    if isinstance(qualname, str) and callable(value):
        return f"{getattr(value, '__module__', None)}.{qualname}"
    if type(value).__module__.startswith("lxml."):
        from lxml import etree

        return "lxml " + hashlib.sha256(etree.tostring(value)).hexdigest()
    return f"{type(value).__module__}.{type(value).__qualname__}"
