"""A handler's error keeps what a developer needs to read it: the exception it was raised
while handling (``__context__``), the handler's own local variables (what an error reporter
shows), and the handler's suspended generators; only this package's frames, which hold the
engine's objects, are cleared (docs/html.md, "Errors")."""

from __future__ import annotations

import pytest

from dualfilter.html import Rewriter, on
from dualfilter.testing import run_filter

PAGE = b"<html><body><p>one</p></body></html>"


def _frames(exc):
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def test_the_handlers_error_keeps_its_context_and_its_locals():
    class Lookup(Rewriter):
        @on("p")
        def p(self, element, environ):
            marker = "kept for the report"  # noqa: F841 (read from the traceback)
            try:
                {}["missing"]
            except KeyError:
                raise ValueError("no such entry")  # noqa: B904 (the KeyError is its context)

    with pytest.raises(ValueError, match="no such entry") as caught:
        run_filter(Lookup, PAGE, raise_errors=True)
    assert isinstance(caught.value.__context__, KeyError)
    handler = next(frame for frame in _frames(caught.value) if frame.f_code.co_name == "p")
    assert handler.f_locals["marker"] == "kept for the report"


def test_a_generator_whose_error_the_handler_raises_is_not_closed_by_it():
    # The generator yields the error it caught and stays suspended there, its frame in the
    # error's traceback: clearing that frame would close the app's generator.
    def feed():
        for attempt in range(10):  # bounded
            try:
                raise LookupError(f"miss {attempt}")
            except LookupError as exc:
                yield exc

    source = feed()

    class Reraises(Rewriter):
        @on("p")
        def p(self, element, environ):
            raise next(source)

    with pytest.raises(LookupError, match="miss 0"):
        run_filter(Reraises, PAGE, raise_errors=True)
    assert source.gi_frame is not None
    assert str(next(source)) == "miss 1"


def test_the_element_a_handler_kept_lets_go_of_the_engine_after_the_error():
    kept = []

    class Keeps(Rewriter):
        @on("p")
        def p(self, element, environ):
            kept.append(element)
            raise RuntimeError("after keeping the element")

    with pytest.raises(RuntimeError):
        run_filter(Keeps, PAGE, raise_errors=True)
    with pytest.raises(Exception):  # noqa: B017 (detached: any use fails, never reaches the freed engine)
        kept[0].get_attribute("class")
