"""``chain(A, B, C)``: several filters as one middleware, parsing once.

``chain(A, B)(app)`` answers as ``A(B(app))`` does — B filters first and A
gets B's output — but the body stays a native object between stages: filters
of one format in a row share one parse and one serialization, and a bytes or
text filter between them serializes only where it stands. The chain is a
Filter class, so everything that takes a filter class takes a chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from . import drivers, streaming
from .decision import wants
from .events import Body, ResponseStart
from .filter import Filter
from .headers import Headers
from .hosts import require_configured
from .machine import ResponseMachine
from .streaming import Stream

#: The options a chain itself takes; every other option belongs to its stages.
CHAIN_OPTIONS = frozenset({"max_buffer_size", "oversize", "thread_threshold", "debug"})
#: Those that change what a response gets (``thread_threshold`` only says where the work runs).
_ANSWERING_OPTIONS = sorted(CHAIN_OPTIONS - {"thread_threshold"})


#: What a subclass of a chain may override that its stages, spliced into another chain, cannot keep.
_HOOKS = ("should_filter_request", "should_filter", "filter", "stream")


def foldable(outer: Filter, inner: Filter) -> bool:
    """Whether ``outer(inner(app))`` answers as ``chain(outer, inner)`` does: a chain
    applies one ``debug``, ``max_buffer_size`` and ``oversize`` to all its stages, and
    a chain with hooks of its own is no list of stages."""
    if _own_hooks(outer) or _own_hooks(inner):
        return False
    return all(getattr(outer, name) == getattr(inner, name) for name in _ANSWERING_OPTIONS)


def _own_hooks(flt: Filter) -> str | None:
    """The first hook a subclass of a chain overrides, if ``flt`` is one (else None)."""
    if not isinstance(flt, Chain):
        return None
    return next((hook for hook in _HOOKS if getattr(type(flt), hook) is not getattr(Chain, hook)), None)


class Chain(Filter):
    """Filters run as one, innermost (last named) first; made by :func:`chain`.

    The response is buffered when any stage wants it, and then each stage
    decides for itself on the response as the stages before it left it. Its
    own options, by default from its stages: ``max_buffer_size`` (the
    smallest), ``oversize`` (``'error'`` if any stage says so),
    ``thread_threshold`` (the smallest) and ``debug`` (if any stage has it).
    """

    filter_content_types: tuple[str, ...] = ()
    #: What the chain was made of (a configured chain among them), for its options' defaults.
    _sources: tuple[Filter, ...] = ()

    if not TYPE_CHECKING:  # hidden from checkers: they type ``chain(...)(app)`` from Filter.__new__

        def __init__(self, app: Any = None, **options: Any) -> None:
            self._take_stage_options(options)
            super().__init__(app, **options)

    def _take_stage_options(self, options: Mapping[str, Any]) -> None:
        """Refuse options that belong to the stages; take the chain's own from them."""
        unknown = sorted(set(options) - CHAIN_OPTIONS)
        if unknown:
            raise TypeError(
                f"{self.name} got option {unknown[0]!r}: configure its stages instead, "
                f"e.g. chain(MyFilter({unknown[0]}=...), ...)"
            )
        inner = self._stages
        if not inner:
            raise TypeError("Chain is the class chain() makes: build one with chain(FilterA, FilterB, ...)")
        # Taken from what was chained: the stages, and a configured chain's own options
        # (chain(A, Pipeline(max_buffer_size=...)) holds to them as A(Pipeline(app)) would).
        sources = self._sources or inner
        thresholds = [source.thread_threshold for source in sources if source.thread_threshold is not None]
        derived = {
            "max_buffer_size": min(source.max_buffer_size for source in sources),
            "oversize": "error" if any(source.oversize == "error" for source in sources) else "pass",
            "thread_threshold": min(thresholds) if thresholds else None,
            "debug": any(source.debug for source in sources),
        }
        for name, value in derived.items():
            if not self._set_by_class(name):  # a subclass's class attribute stands, as any filter's
                setattr(self, name, value)
        self.force_no_conditional = any(stage.force_no_conditional for stage in inner)

    @classmethod
    def _set_by_class(cls, name: str) -> bool:
        """Whether a class between ``cls`` and Chain sets option ``name`` (``class Small(chain(A, B)): ...``)."""
        for klass in cls.__mro__:
            if klass is Chain:
                return False
            if name in vars(klass):
                return True
        return False

    def _configure(self) -> None:
        super()._configure()
        inner = self._stages
        self.is_async = any(stage.is_async for stage in inner)
        self.is_streaming = any(stage.is_streaming for stage in inner)
        self.default_decision = False
        overridden = type(self).should_filter_request is not Chain.should_filter_request  # a subclass's own
        self.asks_requests = overridden or any(stage.asks_requests for stage in inner)
        #: Where ``should_filter_request`` keeps its stages' answers in a request's environ.
        self._refused_key = f"dualfilter.refused_stages.{id(self)}"

    @property
    def stages(self) -> tuple[Filter, ...]:
        """The chained filters, outermost first (as named in ``chain()``)."""
        return self._stages

    @property
    def name(self) -> str:
        return f"chain({', '.join(stage.name for stage in self._stages)})"

    def should_filter_request(self, environ: Mapping[str, Any]) -> bool:
        """Whether any stage may filter this request's response. A stage whose
        ``should_filter_request`` refuses it is left out of it, as it would be
        stacked: the answers, asked before the app runs, are kept in ``environ``
        for the response (an app may rewrite its environ as it routes)."""
        refused = self._ask_stages(environ)
        if isinstance(environ, MutableMapping):
            environ[self._refused_key] = refused
        return len(refused) < len(self._stages)

    def _ask_stages(self, environ: Mapping[str, Any]) -> frozenset[int]:
        return frozenset(id(stage) for stage in self._stages if stage.asks_requests and not stage.should_filter_request(environ))

    def _refused_stages(self, environ: Mapping[str, Any]) -> frozenset[int]:
        """As answered before the app ran (``should_filter_request``), else asked now."""
        known = environ.get(self._refused_key)
        return self._ask_stages(environ) if known is None else known

    def should_filter(self, environ: Mapping[str, Any], status: int, headers: Headers) -> bool:
        """Whether any stage wants the response as the app sent it; if none does,
        no stage can change it, so it passes through."""
        refused = self._refused_stages(environ) if self.asks_requests else frozenset()
        return any(id(stage) not in refused and wants(stage, environ, status, headers.list) for stage in self._stages)

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: Any) -> Any:
        """Run the stages over a 200 response's ``data`` (bytes) directly, as one
        buffered response; returns the final bytes and leaves ``headers`` as the
        stages did. A failing stage's exception is raised."""
        machine = ResponseMachine(self, environ)
        events = drivers.drive(machine, machine.start(200, list(headers.list)))
        if machine.decision is None or machine.decision.action == "pass":
            return data
        events += drivers.drive(machine, machine.body(data) + machine.end())
        if machine.error is not None:
            raise machine.error
        out = b""
        for event in events:
            if type(event) is ResponseStart:
                headers.list[:] = [(k, v) for k, v in event.headers if k.lower() != "content-length"]
            elif type(event) is Body:
                out += event.data
        return out

    def _open_stream(self, environ: Mapping[str, Any], status: int, headers: Headers) -> Stream | None:
        return streaming.open_streams(self, environ, status, headers)

    def validator_token(self) -> str:
        """A hash of the stages' own tokens: a change to any stage changes it."""
        tokens = ",".join(stage.validator_token() for stage in self._stages)
        return hashlib.sha256(f"chain:{tokens}".encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"<{self.name}>"


def chain(*filters: type[Filter] | Filter) -> type[Chain]:
    """A filter class running ``filters`` as ``filters[0](filters[1](...(app)))``
    would: the last one filters first.

    Each item is a Filter class (used with its defaults), a configured instance
    (``MyFilter(option=...)``) or another chain (its stages are spliced in, its own
    options count as a stage's; a subclass of one that overrides a hook is refused).
    """
    if not filters:
        raise ValueError("chain() needs at least one filter")
    flat: list[Filter] = []
    sources: list[Filter] = []
    for item in filters:
        if isinstance(item, type) and issubclass(item, Filter):
            item = item()
        if not isinstance(item, Filter):
            raise TypeError(f"chain() takes Filter classes or instances, not {item!r}")
        require_configured(item)
        hook = _own_hooks(item)
        if hook is not None:
            raise TypeError(
                f"chain() cannot splice {item.name}: it overrides {hook}(), which its stages cannot keep; "
                f"wrap the app in it as a middleware instead ({item.name}(app))"
            )
        flat.extend(item._stages or (item,))
        sources.append(item)
    names = ", ".join(stage.name for stage in flat)
    namespace = {"_stages": tuple(flat), "_sources": tuple(sources), "__module__": __name__}
    return type(f"chain({names})", (Chain,), namespace)
