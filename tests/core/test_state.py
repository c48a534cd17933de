"""The machine's states: one table of transitions, documented and enforced."""

from __future__ import annotations

import re

import pytest

from dualfilter import ProtocolError, state
from dualfilter.state import TRANSITIONS, State, transition

ARROW = re.compile(r"^\s+([A-Z_]+) --([a-z_]+)--> ([A-Z_]+)$", re.M)


def test_the_diagram_in_the_module_docstring_is_the_transitions_table():
    drawn = {(State[a], cause): State[b] for a, cause, b in ARROW.findall(state.__doc__ or "")}
    assert drawn == TRANSITIONS


def test_every_state_has_a_docstring_of_its_own():
    docs = [member.__doc__ for member in State]
    assert all(docs) and len(set(docs)) == len(State)


def test_every_state_but_the_final_ones_can_be_left():
    sources = {source for source, _ in TRANSITIONS}
    assert set(State) - sources == {State.DONE, State.FAILED}


def test_every_state_can_be_reached_from_start():
    reached, frontier = {State.START}, [State.START]
    while frontier:
        here = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is here and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)


def test_the_table_by_state_holds_the_same_transitions():
    regrouped = {(source, cause): target for source, causes in state.NEXT.items() for cause, target in causes.items()}
    assert regrouped == TRANSITIONS and set(state.NEXT) == set(State)


def test_a_pair_the_table_does_not_hold_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="cannot end in state START"):
        transition(State.START, "end")


def test_the_machine_assigns_its_state_in_one_place():
    import inspect

    from dualfilter import machine

    assignments = re.findall(r"self\.state = ", inspect.getsource(machine))
    assert len(assignments) == 2  # the initial START, and _to(), which asks the table


def test_the_machine_refuses_a_transition_the_table_lacks():
    from dualfilter.machine import ResponseMachine
    from tests.support.filters import Upper

    machine = ResponseMachine(Upper(), {})
    machine.start(200, [("Content-Type", "image/png")])
    machine.end()
    with pytest.raises(ProtocolError, match="cannot end in state DONE"):
        machine._to("end")
    assert machine.state is State.DONE
