"""Events (dualfilter.events): frozen values, equal only to events of their own kind."""

from __future__ import annotations

import pytest

from dualfilter.events import PASSTHROUGH, REDISPATCH, Body, End, FilterCall, Passthrough, Redispatch, ResponseStart


def test_events_are_frozen():
    start = ResponseStart(200, [], "OK")
    with pytest.raises(AttributeError):
        start.status = 500  # type: ignore[misc]


def test_an_event_equals_an_event_of_its_kind_with_the_same_values():
    assert Body(b"x") == Body(b"x") and ResponseStart(200, [("A", "b")]) == ResponseStart(200, [("A", "b")], "")


def test_an_event_never_equals_another_kind_or_a_plain_tuple():
    assert Body(b"x") != (b"x",) and End(None) != Body(None)  # type: ignore[arg-type]
    assert PASSTHROUGH != REDISPATCH and PASSTHROUGH != ()


def test_an_end_without_trailers_says_so_with_none():
    assert End().trailers is None and End([]).trailers == []


def test_the_markers_are_single_values():
    assert PASSTHROUGH == Passthrough() and REDISPATCH == Redispatch()


def test_a_filter_call_names_the_users_code_and_its_arguments():
    call = FilterCall(None, print, ("x",))  # type: ignore[arg-type]
    assert (call.function, call.args, call.prepare, call.offload) == (print, ("x",), None, False)
