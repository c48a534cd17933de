"""A chain answers exactly as the same filters nested as middlewares: ``chain(A, B) == A(B(app))``."""

from __future__ import annotations

import gzip
import json
import logging
import threading

import anyio.to_thread
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter import Filter, chain
from dualfilter.drivers import drive_async
from dualfilter.machine import ResponseMachine
from dualfilter.testing import make_environ, run_filter
from tests.support.machines import driven_machine

from .chain_filters import (
    AddHeader,
    AddParagraph,
    AsyncUpper,
    Boom,
    CountingHTML,
    CountJSON,
    JSONOnly,
    MarkBody,
    OnlyIfTagged,
    PlainToHTML,
    ReturnsNumber,
    Rot13Text,
    Snowman,
    TagXML,
    Upper,
)
from .nesting import run_nested

HTML = "<!DOCTYPE html><html><head><title>T \u00e9</title></head><body><p>Hello w\u00f6rld</p></body></html>"
DOCUMENTS = {
    "html": (HTML.encode("utf-8"), "text/html; charset=utf-8"),
    "latin1": (HTML.encode("latin-1"), "text/html; charset=iso-8859-1"),
    "plain": ("hello <b>w\u00f6rld</b> & more".encode(), "text/plain; charset=utf-8"),
    "json": (json.dumps({"a": [1, 2, "\u00e9"]}).encode(), "application/json"),
    "xml": ('<?xml version="1.0" encoding="utf-8"?><root><a>\u00e9</a></root>'.encode(), "application/xml; charset=utf-8"),
}


def same(filters, document, **options):
    body, content_type = DOCUMENTS[document]
    chained = run_filter(chain(*filters), body, content_type=content_type, **options)
    nested = run_nested(filters, body, content_type=content_type, **options)
    assert chained == nested
    return chained


def test_consecutive_lxml_stages_answer_as_nested_middlewares():
    status, _, body = same([MarkBody(mark="a"), AddParagraph(), MarkBody(mark="b")], "html")
    assert status == 200
    assert b'class="b a"' in body and b"<p>added</p>" in body


def test_a_text_stage_between_lxml_stages_answers_as_nested():
    _, _, body = same([MarkBody(mark="a"), Rot13Text(), MarkBody(mark="b")], "html")
    assert b"Uryyb" in body and b'class="b a"' in body


def test_a_bytes_stage_between_lxml_stages_answers_as_nested():
    _, _, body = same([MarkBody(), Upper(), AddParagraph()], "html")
    assert b"<p>ADDED</p>" in body and b'class="m"' in body


def test_a_stage_that_changes_the_content_type_makes_later_stages_apply():
    _, headers, body = same([MarkBody(), PlainToHTML()], "plain")
    assert ("Content-Type", "text/html; charset=utf-8") in headers
    assert b'<body class="m">' in body


def test_a_stage_that_does_not_apply_is_left_out():
    _, _, body = same([MarkBody(mark="a"), JSONOnly(), MarkBody(mark="b")], "html")
    assert b'class="b a"' in body


def test_headers_a_stage_sets_are_seen_by_the_next_stage():
    _, headers, body = same([OnlyIfTagged(), AddHeader(value="inner")], "html")
    assert ("X-Stage", "inner") in headers
    assert body.endswith(b"<!-- tagged -->")


def test_a_character_the_charset_cannot_hold_moves_the_body_to_utf8_as_nested():
    _, headers, body = same([MarkBody(), Snowman()], "latin1")
    assert ("Content-Type", "text/html; charset=utf-8") in headers
    assert "\u2603".encode() in body


def test_json_stages_answer_as_nested():
    _, _, body = same([CountJSON(label="outer"), CountJSON(label="inner")], "json")
    assert json.loads(body)["seen"] == ["inner", "outer"]


def test_xml_stages_answer_as_nested():
    _, _, body = same([TagXML(), Rot13Text(filter_content_types=("*/*",))], "xml")
    assert b'tagged="yes"' in body and b"<a>\xc3\xa9</a>" in body


def test_a_failing_stage_gives_the_clean_500_as_nested():
    status, _, body = same([MarkBody(), Boom(), Upper()], "html")
    assert status == 500
    assert body == b"Internal Server Error\n"


def test_the_log_names_the_failing_stage_and_its_chain(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        run_filter(chain(MarkBody, Boom, Upper), DOCUMENTS["html"][0])
    assert "Boom in chain(MarkBody, Boom, Upper) raised on GET /" in caplog.text


def test_the_machine_error_is_the_failing_stages_exception():
    machine = driven_machine(chain(MarkBody, Boom)(), make_environ())
    machine.start(200, [("Content-Type", "text/html")])
    machine.body(b"<p>x</p>")
    machine.end()
    assert isinstance(machine.error, RuntimeError) and str(machine.error) == "boom"


def test_a_stage_returning_the_wrong_kind_fails_at_that_stage(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        status, _, _ = same([MarkBody(), ReturnsNumber()], "html")
    assert status == 500
    assert "ReturnsNumber in chain(MarkBody, ReturnsNumber) failed" in caplog.text


def test_a_result_the_next_stage_cannot_be_given_fails_at_the_stage_that_returned_it(caplog):
    class NaNJSON(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            data["ratio"] = float("nan")
            return data

    class UpperJSON(Filter):
        decode_unicode = True
        filter_content_types = ("application/json",)

        def filter(self, environ, headers, data):
            return data.upper()

    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        status, _, _ = run_filter(chain(UpperJSON, NaNJSON), b'{"a": 1}', content_type="application/json")
    assert status == 500
    (record,) = caplog.records
    assert record.getMessage().startswith(f"{NaNJSON.__qualname__} in chain(")
    assert "failed on GET /: filter returned a value JSON cannot hold" in record.getMessage()


class _Grow(Filter):
    def filter(self, environ, headers, data):
        return data * 3


class _Tag(Filter):
    def filter(self, environ, headers, data):
        return data + b"!"


@pytest.mark.parametrize("oversize", ["error", "pass"])
def test_a_stage_output_past_max_buffer_size_meets_the_next_stage_as_nested(oversize):
    options = {"max_buffer_size": 100, "oversize": oversize}
    status, _, body = same([_Tag(**options), _Grow(**options)], "html")
    assert status == (502 if oversize == "error" else 200)
    if oversize == "pass":
        assert body == DOCUMENTS["html"][0] * 3  # Grow's page, which Tag never saw


def test_stacked_middlewares_folded_into_a_chain_keep_the_outer_max_buffer_size():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "80")])
        return [b"x" * 80]

    statuses = []
    stacked = _Tag(_Grow(app, max_buffer_size=100), max_buffer_size=100)
    body = b"".join(stacked(make_environ(), lambda status, headers, exc_info=None: statuses.append(status)))
    assert statuses == ["502 Bad Gateway"] and body == b"Bad Gateway\nThe response was too large to filter.\n"


def test_any_chunking_gives_the_same_response_as_nested():
    same([MarkBody(), Rot13Text(), Upper()], "html", chunks=7)


def test_a_compressed_response_answers_as_nested():
    body, content_type = DOCUMENTS["html"]
    raw = gzip.compress(body, mtime=0)
    filters = [MarkBody(), Rot13Text()]
    options = {"content_type": content_type, "headers": [("Content-Encoding", "gzip")]}
    chained = run_filter(chain(*filters), raw, **options)
    assert chained == run_nested(filters, raw, **options)
    assert b'class="m"' in gzip.decompress(chained[2])


def test_a_head_request_answers_as_nested():
    same([MarkBody(), Upper()], "html", method="HEAD")


def test_an_error_status_is_left_alone_as_nested():
    status, _, body = same([MarkBody(), Upper()], "html", status=404)
    assert status == 404 and body == DOCUMENTS["html"][0]


def test_an_empty_body_passes_the_lxml_stages_unchanged():
    chained = run_filter(chain(MarkBody, AddParagraph), b"")
    assert chained == run_nested([MarkBody(), AddParagraph()], b"")
    assert chained[2] == b""


def test_an_async_stage_runs_under_a_sync_host():
    _, _, body = same([MarkBody(), AsyncUpper()], "html")
    assert b'<body class="m"><p>HELLO' in body


async def test_an_async_stage_is_awaited_under_an_async_host():
    flt = chain(MarkBody, AsyncUpper, Rot13Text)()
    machine = ResponseMachine(flt, make_environ())
    machine.start(200, [("Content-Type", "text/html; charset=utf-8")])
    machine.body(DOCUMENTS["html"][0])
    events = await drive_async(machine, machine.end())
    expected = run_nested([MarkBody(), AsyncUpper(), Rot13Text()], DOCUMENTS["html"][0])
    assert events[1].data == expected[2]


async def test_sync_stages_of_an_async_chain_run_through_run_sync_for_large_bodies():
    calls = []
    threads = []

    class ThreadedHTML(CountingHTML):
        def parse(self, data, declared, media_type):
            threads.append(("parse", threading.get_ident()))
            return super().parse(data, declared, media_type)

        def serialize(self, value, charset, media_type, output_encoding):
            threads.append(("serialize", threading.get_ident()))
            return super().serialize(value, charset, media_type, output_encoding)

    class Marking(MarkBody):
        def filter(self, environ, headers, data):
            threads.append(("stage", threading.get_ident()))
            return super().filter(environ, headers, data)

    async def run_sync(func):
        calls.append(func)
        return await anyio.to_thread.run_sync(func)

    flt = chain(Marking(format=ThreadedHTML()), AsyncUpper)(thread_threshold=0)
    machine = ResponseMachine(flt, make_environ())
    machine.start(200, [("Content-Type", "text/html; charset=utf-8")])
    machine.body(DOCUMENTS["html"][0])
    events = await drive_async(machine, machine.end(), run_sync)
    assert b'class="m"' in events[1].data
    assert calls  # parsing, the sync stage and serializing, off the event loop's thread:
    assert [what for what, _ in threads] == ["parse", "stage", "serialize"]
    assert threading.get_ident() not in {ident for _, ident in threads}


POOL = [
    Upper(),
    Upper(filter_content_types=("*/*",)),
    Rot13Text(),
    Rot13Text(filter_content_types=("*/*",)),
    Snowman(),
    MarkBody(mark="p"),
    MarkBody(mark="q"),
    AddParagraph(),
    TagXML(),
    CountJSON(label="x"),
    CountJSON(label="y"),
    PlainToHTML(),
    JSONOnly(),
    AddHeader(value="v"),
    OnlyIfTagged(),
    Boom(),
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(POOL), min_size=1, max_size=4),
    st.sampled_from(sorted(DOCUMENTS)),
    st.integers(min_value=1, max_value=4),
)
def test_any_combination_of_stages_answers_as_nested(filters, document, chunks):
    same(filters, document, chunks=chunks)
