"""Which responses are filtered: status, media type, method."""

from __future__ import annotations

import pytest

from dualfilter import Filter
from dualfilter.decision import decide, decide_raw, page_type
from dualfilter.state import State
from tests.support.filters import Upper
from tests.support.machines import driven_machine

from .conftest import drive


def ct(value):
    return [("Content-Type", value)]


def test_a_200_html_response_is_filtered():
    assert drive(Upper(), [b"<p>hi</p>"])[3] == b"<P>HI</P>"


def test_an_image_is_passed_through_untouched():
    machine, status, headers, body = drive(Upper(), [b"GIF89a"], headers=ct("image/gif"))
    assert body == b"GIF89a"
    assert headers == ct("image/gif")


@pytest.mark.parametrize("value", ["TEXT/HTML", 'text/html; Charset="UTF-8"', " text/html ;charset=utf-8", "Text/Html;q=1"])
def test_the_media_type_matches_case_insensitively_and_ignores_parameters(value):
    assert drive(Upper(), [b"a"], headers=ct(value))[3] == b"A"


def test_a_404_is_not_filtered_by_default():
    assert drive(Upper(), [b"nope"], status=404)[3] == b"nope"


def test_filter_all_status_filters_a_404():
    assert drive(Upper(filter_all_status=True), [b"nope"], status=404)[3] == b"NOPE"


@pytest.mark.parametrize("status", [204, 205, 304, 101])
def test_bodiless_statuses_are_never_filtered_even_with_filter_all_status(status):
    machine = drive(Upper(filter_all_status=True), [], status=status)[0]
    assert machine.error is None
    assert machine.state is State.DONE


def test_head_is_never_filtered_and_drops_the_length_of_the_unfiltered_body():
    headers = [("Content-Type", "text/html"), ("Content-Length", "9"), ("ETag", '"a"'), ("X-Kept", "1")]
    machine, status, out, body = drive(Upper(), [], headers=headers, method="HEAD")
    assert out == [("Content-Type", "text/html"), ("X-Kept", "1")]


def test_head_of_a_type_not_filtered_keeps_its_content_length():
    headers = [("Content-Type", "image/png"), ("Content-Length", "9")]
    assert drive(Upper(), [], headers=headers, method="HEAD")[2] == headers


def test_a_response_without_content_type_is_not_filtered():
    assert drive(Upper(), [b"x"], headers=[])[3] == b"x"


@pytest.mark.parametrize(
    ("patterns", "media_type", "filtered"),
    [
        (("text/*",), "text/plain", True),
        (("text/*",), "application/json", False),
        (("*/*+xml",), "application/atom+xml", True),
        (("*/*+xml",), "application/xml", False),
        (("application/*+json",), "application/problem+json", True),
        (("*/*",), "image/png", True),
        (("TEXT/HTML",), "text/html", True),
    ],
)
def test_content_type_patterns(patterns, media_type, filtered):
    body = drive(Upper(filter_content_types=patterns), [b"x"], headers=ct(media_type))[3]
    assert (body == b"X") is filtered


def test_should_filter_can_be_overridden():
    class OnlyAdmin(Upper):
        def should_filter(self, environ, status, headers):
            return environ["PATH_INFO"].startswith("/admin") and super().should_filter(environ, status, headers)

    from dualfilter.testing import collect, make_environ

    def run(path):
        m = driven_machine(OnlyAdmin(), make_environ(path=path))
        return collect(m.start(200, ct("text/html")) + m.body(b"x") + m.end())[2]

    assert (run("/admin/x"), run("/public")) == (b"X", b"x")


def test_should_filter_sees_status_and_headers():
    seen = []

    class Spy(Upper):
        def should_filter(self, environ, status, headers):
            seen.append((status, headers["content-type"]))
            return False

    drive(Spy(), [b"x"], status=201, headers=ct("text/html"))
    assert seen == [(201, "text/html")]


def test_a_json_format_filter_filters_json_types_by_default():
    class AddField(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            return {**data, "added": True}

    assert drive(AddField(), [b"{}"], headers=ct("application/vnd.api+json"))[3] == b'{"added":true}'
    assert drive(AddField(), [b"<p>"], headers=ct("text/html"))[3] == b"<p>"


def test_an_unsupported_content_encoding_passes_through_with_a_warning(caplog):
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "compress")]
    body = drive(Upper(), [b"raw"], headers=headers)[3]
    assert body == b"raw"
    assert "unsupported Content-Encoding compress" in caplog.text


RAW_CASES = [
    ("GET", 200, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "3")]),
    ("GET", 200, [("content-type", "image/png")]),
    ("GET", 200, [("Content-Type", "image/png"), ("Content-Type", "text/html")]),
    ("GET", 200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]),
    ("GET", 200, [("Content-Type", "text/html"), ("Content-Encoding", "compress")]),
    ("GET", 200, []),
    ("HEAD", 200, [("Content-Type", "text/html")]),
    ("GET", 404, [("Content-Type", "text/html")]),
    ("GET", 304, []),
    ("GET", 206, [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/9")]),
    ("GET", 204, [("Content-Type", "text/html")]),
]


@pytest.mark.parametrize(("method", "status", "headers"), RAW_CASES)
def test_a_decision_on_byte_headers_is_the_decision_on_their_text(method, status, headers):
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    expected = decide(Upper(), method, status, headers)
    flt = Upper()
    assert decide_raw(flt, method, status, raw) == expected
    assert decide_raw(flt, method, status, [(name, bytearray(value)) for name, value in raw]) == expected  # from the memo
    assert decide(flt, method, status, headers) == expected  # str and bytes keys do not meet in the memo


def test_a_decision_on_byte_headers_asks_an_overridden_should_filter_with_text_headers():
    seen = []

    class Picky(Filter):
        def should_filter(self, environ, status, headers):
            seen.append((environ["PATH_INFO"], headers["content-type"]))
            return True

        def filter(self, environ, headers, data):
            return data

    decision = decide_raw(Picky(), "GET", 200, [(b"content-type", b"image/png")], {"PATH_INFO": "/x"})
    assert decision.action == "buffer" and seen == [("/x", "image/png")]


@pytest.mark.parametrize(
    ("headers", "untouched"),
    [
        ([("Content-Type", "image/png")], True),
        ([("Content-Type", "text/html")], False),  # buffered
        ([("Content-Type", "text/html"), ("Content-Encoding", "compress")], False),  # passed, with a warning to log
    ],
)
def test_untouched_is_a_pass_with_nothing_to_say(headers, untouched):
    decision = decide(Upper(), "GET", 200, headers)
    assert decision.untouched is untouched
    assert decision.untouched is (decision.action == "pass" and not decision.codings)


@pytest.mark.parametrize(("line", "code"), [("200 OK", 200), ("404 Not Found", 404), ("206 Partial Content", 206), ("304", 304)])
def test_a_wsgi_status_line_is_decided_as_its_code(line, code):
    headers = [("Content-Type", "text/html")]
    flt = Upper()
    assert decide(flt, "GET", line, headers) == decide(flt, "GET", code, headers)
    assert decide(flt, "GET", line, headers) == decide(Upper(), "GET", code, headers)  # from the memo, as first made


@pytest.mark.parametrize("line", ["OK", "", "abc 200"])
def test_a_status_line_without_a_code_is_left_untouched_for_the_server_to_refuse(line):
    # The filter cannot take a response it cannot read the status of: it goes on as the app gave it.
    decision = decide(Upper(), "GET", line, [("Content-Type", "text/html")])
    assert decision.untouched and not decision.wanted and "names no status code" in decision.reason


def test_a_status_line_a_number_leads_is_read_by_it():
    assert decide(Upper(), "GET", "200OK", [("Content-Type", "text/html")]).wanted


# -- several Content-Type lines ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [206, 304])
def test_a_partial_or_unmodified_answer_with_several_types_is_decided_as_its_page(status):
    # The 200 behind it would be filtered as text/html (the type Upper takes), whatever the order.
    extra = [("Content-Range", "bytes 0-1/9")] if status == 206 else []
    for types in (["image/png", "text/html"], ["text/html", "image/png"]):
        listed = decide(Upper(), "GET", status, [("Content-Type", value) for value in types] + extra)
        assert listed == decide(Upper(), "GET", status, [("Content-Type", "text/html"), *extra])
    assert listed.action != "pass"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["image/png", "image/gif"], ("image/gif", {})),  # what a browser reads: the last
        (["image/gif", "*/*"], ("image/gif", {})),  # one it skips counts for nothing
        (["text/plain; charset=koi8-r", "text/plain"], ("text/plain", {"charset": "koi8-r"})),  # the first one's charset
    ],
)
def test_of_several_types_none_filtered_the_page_is_what_fetch_reads(values, expected):
    media_type, params = page_type(Upper(), [("Content-Type", value) for value in values])
    assert (media_type, dict(params)) == expected


@pytest.mark.parametrize(
    "pairs",
    [
        [("content-type", "text/html")],
        [("Content-Type", "text/html; charset=utf-8"), ("content-encoding", "gzip")],
        [(b"content-type", b"image/png"), ("content-type", "text/html")],  # a str line after a bytes one
    ],
)
def test_a_decision_on_str_pairs_is_the_decision_on_their_text(pairs):
    text = [(n.decode() if isinstance(n, bytes) else n, v.decode() if isinstance(v, bytes) else v) for n, v in pairs]
    assert decide_raw(Upper(), "GET", 200, pairs) == decide(Upper(), "GET", 200, text)
    assert decide_raw(Upper(), "GET", 200, pairs).action == "buffer"
