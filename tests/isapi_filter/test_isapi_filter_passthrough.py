"""Responses the filter does not apply to flow through untouched, and are not kept."""

from __future__ import annotations

from filter_harness import HTML_TYPE, PAGE, UpperFilter, html, serve
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter.isapi.errors import FilterError
from dualfilter.isapi.testing import FakeFilterContext, FilterHost, raw_response

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
IMAGE = raw_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(PNG)))], [PNG])
HEAD_END = IMAGE.index(b"\r\n\r\n") + 4


def test_non_html_response_reaches_the_client_byte_for_byte():
    assert serve(IMAGE, splits=[HEAD_END, 500, 1200]).raw == IMAGE


def test_non_html_response_leaves_in_data_untouched():
    notes = serve(IMAGE, splits=[HEAD_END, 500, 1200]).raw_data()
    assert not any(note.replaced for note in notes) and all(note.sent is note.offered for note in notes)


def test_after_deciding_to_pass_the_filter_sees_no_more_raw_data():
    assert len(serve(IMAGE, splits=[HEAD_END, 500, 1200]).raw_data()) == 1


class Watched:
    """The filter, with what its exchange keeps looked at after each notification."""

    def __init__(self, inner):
        self.inner = inner
        self.kept = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def HttpFilterProc(self, fc):
        result = self.inner.HttpFilterProc(fc)
        state = fc.FilterContext
        if state is not None and state.exchange is not None and not state.writing:
            exchange = state.exchange
            self.kept.append((list(exchange.held), exchange.heads, exchange.body))
        return result


def test_nothing_of_a_passing_response_is_kept():
    watched = Watched(UpperFilter.isapi_filter())
    with FilterHost(watched) as iis:
        iis.request(response=IMAGE, splits=[30, HEAD_END + 5])
    assert watched.kept[0][0] == [IMAGE[:30]] and watched.kept[-1] == ([], None, None)


def test_passing_response_stays_untouched_when_iis_keeps_notifying(monkeypatch):
    def unsupported(self, flags):
        raise FilterError(50, None, "DisableNotifications")

    monkeypatch.setattr(FakeFilterContext, "DisableNotifications", unsupported)
    response = serve(IMAGE, splits=[HEAD_END, 500, 1200])
    notes = response.raw_data()
    assert response.raw == IMAGE and len(notes) == 4 and not any(note.replaced for note in notes)


def test_head_split_across_notifications_is_released_before_the_rest():
    response = serve(IMAGE, splits=[10, 40, HEAD_END + 3])
    notes = response.raw_data()
    assert response.raw == IMAGE and [note.replaced for note in notes] == [True, True, False]


def test_html_404_passes_untouched():
    raw = html(b"<p>missing</p>", status="404 Not Found")
    assert serve(raw, splits=[7]).raw == raw


def test_html_passes_untouched_when_the_filter_takes_all_statuses_but_not_html():
    raw = html()
    assert serve(raw, flt=UpperFilter.isapi_filter(filter_content_types=("application/json",))).raw == raw


def test_not_modified_passes_untouched():
    raw = raw_response("304 Not Modified", [HTML_TYPE, ("ETag", '"v1"')])
    assert serve(raw).raw == raw


def test_head_request_gets_the_head_without_length_or_validator():
    raw = raw_response("200 OK", [HTML_TYPE, ("Content-Length", "47"), ("ETag", '"v1"')])
    assert serve(raw, method="HEAD", splits=[9]).raw == raw_response("200 OK", [HTML_TYPE])


def test_head_request_for_an_image_passes_untouched():
    raw = raw_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", "2048")])
    assert serve(raw, method="HEAD").raw == raw


def test_bytes_that_are_not_a_response_pass_as_they_came():
    raw = b"this is not HTTP at all\r\n\r\n<p>x</p>"
    assert serve(raw, splits=[4, 30]).raw == raw


def test_head_that_never_completes_goes_out_at_the_end_of_the_request():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    assert serve(raw, splits=[10]).raw == raw


def test_switching_protocols_passes_with_what_follows():
    raw = raw_response("101 Switching Protocols", [("Upgrade", "websocket"), ("Connection", "Upgrade")]) + b"\x81\x05hello"
    assert serve(raw, splits=[12]).raw == raw


def test_interim_response_goes_out_before_the_filtered_one():
    raw = raw_response("100 Continue") + html()
    response = serve(raw, splits=[5, 30])
    assert response.raw.startswith(raw_response("100 Continue")) and response.interim == [100]
    assert response.body == PAGE.upper()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(IMAGE) - 1), max_size=10))
def test_any_splits_of_a_passing_response_give_the_same_bytes(splits):
    assert serve(IMAGE, splits=splits).raw == IMAGE


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(IMAGE) - 1), max_size=10))
def test_any_splits_of_a_passing_response_touch_no_in_data_after_the_head(splits):
    notes = serve(IMAGE, splits=splits).raw_data()
    assert not notes[-1].replaced and all(note.replaced for note in notes[:-1])
