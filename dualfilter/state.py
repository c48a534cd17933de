"""The response machine's states and the one table of its transitions.

Every change of state goes through :func:`transition`, which looks the
(state, cause) pair up in ``TRANSITIONS`` and raises ProtocolError for a pair
the table does not hold. The diagram below is the table, one arrow a row (a
test checks that they agree)::

    START --pass--> PASSTHROUGH
    START --buffer--> BUFFERING
    START --open--> OPENING
    START --bodiless--> BODILESS
    START --redispatch--> REDISPATCHING
    START --peek--> PEEKING
    START --failed--> ANSWERED
    START --precondition_failed--> ANSWERED
    REDISPATCHING --pass--> PASSTHROUGH
    REDISPATCHING --buffer--> BUFFERING
    REDISPATCHING --open--> OPENING
    REDISPATCHING --bodiless--> BODILESS
    REDISPATCHING --failed--> ANSWERED
    REDISPATCHING --precondition_failed--> ANSWERED
    REDISPATCHING --answer_stands--> ANSWERED
    PEEKING --redispatch--> REDISPATCHING
    PEEKING --pass--> PASSTHROUGH
    PEEKING --failed--> ANSWERED
    PEEKING --restart--> START
    OPENING --opened--> HOLDING
    OPENING --declined--> BUFFERING
    OPENING --failed--> ANSWERED
    PASSTHROUGH --end--> DONE
    PASSTHROUGH --restart--> START
    BUFFERING --end--> FILTERING
    BUFFERING --oversize_pass--> PASSTHROUGH
    BUFFERING --oversize_error--> ANSWERED
    BUFFERING --restart--> START
    FILTERING --next--> FILTERING
    FILTERING --finished--> DONE
    FILTERING --failed--> DONE
    FILTERING --oversize_pass--> DONE
    FILTERING --oversize_error--> DONE
    HOLDING --feed--> HOLDING_FEED
    HOLDING --end--> HOLDING_FINISH
    HOLDING --restart--> START
    HOLDING_FEED --held--> HOLDING
    HOLDING_FEED --fed--> STREAMING
    HOLDING_FEED --failed--> ANSWERED
    HOLDING_FINISH --finished--> DONE
    HOLDING_FINISH --failed--> DONE
    STREAMING --feed--> FEEDING
    STREAMING --end--> FINISHING
    FEEDING --fed--> STREAMING
    FEEDING --failed--> FAILED
    FINISHING --finished--> DONE
    FINISHING --failed--> FAILED
    BODILESS --end--> DONE
    BODILESS --restart--> START
    ANSWERED --end--> DONE

A stream's start is held (HOLDING) until its first output byte, so a stream
that fails before it gives a clean 500. ``restart`` is WSGI's ``exc_info``
second start; the host allows it only while no body byte has gone out (it
knows what it sent).
"""

from __future__ import annotations

import enum

from .errors import ProtocolError


class State(enum.Enum):
    """Where one response is; each member's docstring says what holds there."""

    def __new__(cls, value: str, doc: str) -> State:
        member = object.__new__(cls)
        member._value_ = value
        member.__doc__ = doc
        return member

    START = "start", "No response start yet: the machine waits for the status and headers."
    REDISPATCHING = (
        "redispatching",
        "The app's 206 or 304 may stand for a filtered page: its rest is dropped, the app asked again.",
    )
    PEEKING = (
        "peeking",
        "The app's multipart 206 is held until its first part's header names the page's type.",
    )
    PASSTHROUGH = "passthrough", "Not filtered: the start went out, body chunks and the end go on as they come."
    BUFFERING = "buffering", "To be filtered: the start and every body chunk are held until the end."
    OPENING = "opening", "A streaming filter's ``stream()`` is being asked for (a FilterCall is out)."
    FILTERING = "filtering", "The app's body is complete and with the filters (one FilterCall a stage)."
    HOLDING = "holding", "Filtered chunk by chunk: the stream is open, its start held until its first output byte."
    HOLDING_FEED = "holding_feed", "A chunk is with the stream, no output yet: the start is still held."
    HOLDING_FINISH = "holding_finish", "The app ended a streamed response with no output yet: the stream's last is asked for."
    STREAMING = "streaming", "Filtered chunk by chunk: the start and output went out, each chunk goes through the stream."
    FEEDING = "feeding", "A chunk is with the stream (a FilterCall is out); the next waits for its output."
    FINISHING = "finishing", "The app ended a streamed response; the stream's last output is being asked for."
    BODILESS = "bodiless", "No body may follow (HEAD of a filtered type): the start went out, body is dropped, the end goes on."
    ANSWERED = (
        "answered",
        "An answer went out whole (the machine's 500, 502 or 412, or the app's first 304 or 416 standing);"
        " the app's rest is dropped until it ends.",
    )
    DONE = "done", "The response is complete; nothing more may come."
    FAILED = "failed", "A stream failed after the start went out: the response was cut short."


# Members are singletons: hash them by identity, in C, not by name in Python
# (the table below is looked up on every transition).
State.__hash__ = object.__hash__  # type: ignore[method-assign]

TRANSITIONS: dict[tuple[State, str], State] = {
    (State.START, "pass"): State.PASSTHROUGH,
    (State.START, "buffer"): State.BUFFERING,
    (State.START, "open"): State.OPENING,
    (State.START, "bodiless"): State.BODILESS,
    (State.START, "redispatch"): State.REDISPATCHING,
    (State.START, "peek"): State.PEEKING,
    (State.START, "failed"): State.ANSWERED,
    (State.START, "precondition_failed"): State.ANSWERED,
    (State.REDISPATCHING, "pass"): State.PASSTHROUGH,
    (State.REDISPATCHING, "buffer"): State.BUFFERING,
    (State.REDISPATCHING, "open"): State.OPENING,
    (State.REDISPATCHING, "bodiless"): State.BODILESS,
    (State.REDISPATCHING, "failed"): State.ANSWERED,
    (State.REDISPATCHING, "precondition_failed"): State.ANSWERED,
    (State.REDISPATCHING, "answer_stands"): State.ANSWERED,
    (State.PEEKING, "redispatch"): State.REDISPATCHING,
    (State.PEEKING, "pass"): State.PASSTHROUGH,
    (State.PEEKING, "failed"): State.ANSWERED,
    (State.PEEKING, "restart"): State.START,
    (State.OPENING, "opened"): State.HOLDING,
    (State.OPENING, "declined"): State.BUFFERING,
    (State.OPENING, "failed"): State.ANSWERED,
    (State.PASSTHROUGH, "end"): State.DONE,
    (State.PASSTHROUGH, "restart"): State.START,
    (State.BUFFERING, "end"): State.FILTERING,
    (State.BUFFERING, "oversize_pass"): State.PASSTHROUGH,
    (State.BUFFERING, "oversize_error"): State.ANSWERED,
    (State.BUFFERING, "restart"): State.START,
    (State.FILTERING, "next"): State.FILTERING,
    (State.FILTERING, "finished"): State.DONE,
    (State.FILTERING, "failed"): State.DONE,
    (State.FILTERING, "oversize_pass"): State.DONE,
    (State.FILTERING, "oversize_error"): State.DONE,
    (State.HOLDING, "feed"): State.HOLDING_FEED,
    (State.HOLDING, "end"): State.HOLDING_FINISH,
    (State.HOLDING, "restart"): State.START,
    (State.HOLDING_FEED, "held"): State.HOLDING,
    (State.HOLDING_FEED, "fed"): State.STREAMING,
    (State.HOLDING_FEED, "failed"): State.ANSWERED,
    (State.HOLDING_FINISH, "finished"): State.DONE,
    (State.HOLDING_FINISH, "failed"): State.DONE,
    (State.STREAMING, "feed"): State.FEEDING,
    (State.STREAMING, "end"): State.FINISHING,
    (State.FEEDING, "fed"): State.STREAMING,
    (State.FEEDING, "failed"): State.FAILED,
    (State.FINISHING, "finished"): State.DONE,
    (State.FINISHING, "failed"): State.FAILED,
    (State.BODILESS, "end"): State.DONE,
    (State.BODILESS, "restart"): State.START,
    (State.ANSWERED, "end"): State.DONE,
}


#: The states in which the machine reads the app's body to filter it (hosts let go of the
#: app's answer early, or undo its own framing, there).
READS_BODY = frozenset({State.BUFFERING, State.HOLDING, State.STREAMING})
#: The states in which the machine drops the app's body (a HEAD's, or the rest after its own
#: answer): a host need not read what the app sends, a file it names included.
DROPS_BODY = frozenset({State.BODILESS, State.ANSWERED})
#: The same table by state, as the machine looks it up: for each state, what each cause leads to.
NEXT: dict[State, dict[str, State]] = {state: {} for state in State}
for (_state, _cause), _target in TRANSITIONS.items():
    NEXT[_state][_cause] = _target
del _state, _cause, _target


def transition(state: State, cause: str) -> State:
    """The state ``cause`` leads to from ``state``; ProtocolError if none."""
    try:
        return TRANSITIONS[state, cause]
    except KeyError:
        raise ProtocolError(f"cannot {cause.replace('_', ' ')} in state {state.name}") from None
