"""A failing filter gives a clean 500; an oversized response follows its policy."""

from __future__ import annotations

import logging

from dualfilter import Filter
from dualfilter.state import State
from tests.support.filters import Upper
from tests.support.machines import driven_machine

from .conftest import drive


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("secret detail")


def test_a_filter_exception_gives_a_clean_500_without_traceback():
    machine, status, headers, body = drive(Broken(), [b"<p>private</p>"])
    assert status == 500
    assert body == b"Internal Server Error\n"
    assert b"private" not in body and b"secret" not in body
    assert ("Content-Length", str(len(body))) in headers


def test_the_machine_records_the_exception_and_the_500_completes_the_response():
    machine = drive(Broken(), [b"x"])[0]
    assert isinstance(machine.error, ValueError)
    assert machine.state is State.DONE


def test_the_exception_is_logged_with_its_traceback_naming_the_filter(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        drive(Broken(), [b"x"])
    (record,) = caplog.records
    assert record.name == "dualfilter" and "Broken raised on GET /" in record.getMessage()
    assert record.exc_info[0] is ValueError


def test_debug_puts_the_traceback_in_the_500_page():
    body = drive(Broken(debug=True), [b"x"])[3]
    assert b"ValueError: secret detail" in body and b"Traceback" in body


def test_a_filter_returning_the_wrong_type_gives_a_500_naming_it(caplog):
    class ReturnsInt(Filter):
        def filter(self, environ, headers, data):
            return 42

    status = drive(ReturnsInt(), [b"x"])[1]
    assert status == 500
    assert "ReturnsInt.filter() returned int" in caplog.text


def test_a_filter_may_return_an_iterable_of_chunks():
    class Chunks(Filter):
        def filter(self, environ, headers, data):
            return (part for part in (data, b"!", b"!"))

    assert drive(Chunks(), [b"x"])[3] == b"x!!"


def test_a_filter_returning_mixed_chunks_gives_a_500():
    class Mixed(Filter):
        def filter(self, environ, headers, data):
            return [b"a", "b"]

    assert drive(Mixed(), [b"x"])[1] == 500


def test_oversize_error_answers_502_and_swallows_the_rest():
    machine = drive(Upper(max_buffer_size=10, oversize="error"), [b"12345", b"678901", b"more"])
    status, body = machine[1], machine[3]
    assert status == 502 and b"too large" in body
    assert machine[0].state is State.DONE


def test_oversize_pass_sends_the_held_and_following_chunks_unfiltered(caplog):
    machine, status, headers, body = drive(Upper(max_buffer_size=10, oversize="pass"), [b"abcde", b"fghijk", b"lmn"])
    assert (status, body) == (200, b"abcdefghijklmn")
    assert "larger than max_buffer_size=10; sent unfiltered" in caplog.text


def test_oversize_never_holds_more_than_one_chunk_past_the_limit():
    from dualfilter.testing import make_environ

    machine = driven_machine(Upper(max_buffer_size=100), make_environ())
    machine.start(200, [("Content-Type", "text/html")])
    for _ in range(1000):
        machine.body(b"x" * 50)
        assert machine._size <= 150 and sum(map(len, machine._chunks)) <= 150
