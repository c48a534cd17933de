"""Stages of one format in a row share one parse and one serialization."""

from __future__ import annotations

import json

from dualfilter import Filter, chain
from dualfilter.formats.json_data import JSONFormat
from dualfilter.testing import run_filter

from .chain_filters import AddParagraph, CountingHTML, JSONOnly, MarkBody, Rot13Text, Upper
from .nesting import run_nested

PAGE = b"<html><head><title>t</title></head><body><p>hello</p></body></html>"


def counted(*filters):
    """The body ``filters`` give as a chain."""
    return run_filter(chain(*filters), PAGE)[2]


def test_three_lxml_stages_parse_once_and_serialize_once():
    fmt = CountingHTML()
    body = counted(MarkBody(format=fmt, mark="a"), AddParagraph(format=fmt), MarkBody(format=fmt, mark="b"))
    assert (fmt.parses, fmt.serializations) == (1, 1)
    assert b'class="b a"' in body and b"<p>added</p>" in body


def test_the_same_stages_nested_parse_three_times():
    fmt = CountingHTML()
    run_nested([MarkBody(format=fmt, mark="a"), AddParagraph(format=fmt), MarkBody(format=fmt, mark="b")], PAGE)
    assert (fmt.parses, fmt.serializations) == (3, 3)


def test_a_text_stage_between_them_serializes_and_reparses_once_there():
    fmt = CountingHTML()
    counted(MarkBody(format=fmt), Rot13Text(), MarkBody(format=fmt), AddParagraph(format=fmt))
    assert (fmt.parses, fmt.serializations) == (2, 2)


def test_a_bytes_stage_between_them_serializes_and_reparses_once_there():
    fmt = CountingHTML()
    counted(MarkBody(format=fmt), MarkBody(format=fmt), Upper(), MarkBody(format=fmt))
    assert (fmt.parses, fmt.serializations) == (2, 2)


def test_a_stage_that_does_not_apply_does_not_break_the_run():
    fmt = CountingHTML()
    counted(MarkBody(format=fmt), JSONOnly(), MarkBody(format=fmt))
    assert (fmt.parses, fmt.serializations) == (1, 1)


def test_consecutive_text_stages_decode_once():
    decodes = []

    class Watch(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            decodes.append(id(data))
            return data

    counted(Watch(), Watch(), Watch())
    assert len(set(decodes)) == 1  # the very same str object went through every stage


class CountingJSON(JSONFormat):
    name = "counting_json"

    def __init__(self) -> None:
        self.parses = 0
        self.serializations = 0

    def parse(self, data, declared, media_type):
        self.parses += 1
        return super().parse(data, declared, media_type)

    def serialize(self, value, charset, media_type, output_encoding):
        self.serializations += 1
        return super().serialize(value, charset, media_type, output_encoding)


class Append(Filter):
    item: str = "x"

    def filter(self, environ, headers, data):
        data.append(self.item)
        return data


def test_json_stages_share_one_parse_and_one_serialization():
    fmt = CountingJSON()
    stages = [Append(format=fmt, item="outer"), Append(format=fmt, item="middle"), Append(format=fmt, item="inner")]
    _, _, body = run_filter(chain(*stages), b"[]", content_type="application/json")
    assert json.loads(body) == ["inner", "middle", "outer"]
    assert (fmt.parses, fmt.serializations) == (1, 1)
