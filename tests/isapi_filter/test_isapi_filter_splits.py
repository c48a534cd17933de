"""A filtered response gives the same bytes however IIS splits it across SEND_RAW_DATA notifications."""

from __future__ import annotations

from filter_harness import HTML_TYPE, PAGE, filtered, html, serve
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter.isapi.constants import SF_NOTIFY_END_OF_REQUEST, SF_NOTIFY_SEND_RAW_DATA
from dualfilter.isapi.testing import raw_response

RAW = html()
CHUNKED = html(chunks=[b"<p>one</p>", b"<p>two</p>" * 3, b"<p>three</p>"], chunked=True)
EXPECTED = filtered(RAW)
EXPECTED_CHUNKED = html(b"<P>ONE</P>" + b"<P>TWO</P>" * 3 + b"<P>THREE</P>")


def test_whole_response_in_one_piece_is_filtered():
    assert serve(RAW).raw == EXPECTED


def test_split_inside_the_status_line():
    assert serve(RAW, splits=[RAW.index(b"200") + 1]).raw == EXPECTED


def test_split_inside_a_header_name():
    assert serve(RAW, splits=[RAW.index(b"Content-Type") + 7]).raw == EXPECTED


def test_split_between_cr_and_lf_of_a_header_line():
    assert serve(RAW, splits=[RAW.index(b"\r\n") + 1]).raw == EXPECTED


def test_split_between_cr_and_lf_of_the_blank_line():
    assert serve(RAW, splits=[RAW.index(b"\r\n\r\n") + 3]).raw == EXPECTED


def test_split_right_after_the_head():
    assert serve(RAW, splits=[RAW.index(b"\r\n\r\n") + 4]).raw == EXPECTED


def test_split_inside_a_content_length_body():
    assert serve(RAW, splits=[len(RAW) - 10]).raw == EXPECTED


def test_every_byte_in_its_own_notification():
    assert serve(RAW, splits=range(len(RAW))).raw == EXPECTED


def test_chunked_body_is_de_chunked_and_given_a_content_length():
    assert serve(CHUNKED).raw == EXPECTED_CHUNKED


def test_split_inside_a_chunk_size_line():
    at = CHUNKED.index(b"1e\r\n") + 1  # "1e" is the size of the second chunk
    assert serve(CHUNKED, splits=[at]).raw == EXPECTED_CHUNKED


def test_split_between_cr_and_lf_after_a_chunk_size():
    at = CHUNKED.index(b"1e\r\n") + 3
    assert serve(CHUNKED, splits=[at]).raw == EXPECTED_CHUNKED


def test_split_inside_the_last_chunk():
    at = CHUNKED.rindex(b"0\r\n\r\n") + 2
    assert serve(CHUNKED, splits=[at]).raw == EXPECTED_CHUNKED


def test_chunked_split_at_every_byte():
    assert serve(CHUNKED, splits=range(len(CHUNKED))).raw == EXPECTED_CHUNKED


def test_every_piece_of_a_filtered_response_is_withheld():
    notes = serve(RAW, splits=[5, 30, 70]).raw_data()
    assert len(notes) == 4 and all(note.replaced and note.sent == b"" for note in notes)


def test_filtered_response_goes_out_in_one_write():
    writes = [n for n in serve(RAW, splits=[5, 30, 70]).notifications if n.nested]
    assert [n.offered for n in writes] == [EXPECTED]


def test_response_complete_by_content_length_goes_out_before_end_of_request():
    kinds = [(n.kind, n.nested) for n in serve(RAW).notifications]
    assert kinds.index((SF_NOTIFY_SEND_RAW_DATA, True)) < kinds.index((SF_NOTIFY_END_OF_REQUEST, False))


def test_chunked_response_goes_out_at_its_last_chunk():
    kinds = [(n.kind, n.nested) for n in serve(CHUNKED).notifications]
    assert kinds.index((SF_NOTIFY_SEND_RAW_DATA, True)) < kinds.index((SF_NOTIFY_END_OF_REQUEST, False))


def test_body_read_to_the_end_of_the_request_goes_out_then():
    raw = raw_response("200 OK", [HTML_TYPE], [PAGE], http_version="1.0")
    response = serve(raw, splits=[20, 60])
    write = next(i for i, n in enumerate(response.notifications) if n.nested)
    assert response.body == PAGE.upper() and response.notifications[write - 1].kind == SF_NOTIFY_END_OF_REQUEST


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(RAW) - 1), max_size=12))
def test_any_splits_of_a_content_length_response_give_the_same_bytes(splits):
    assert serve(RAW, splits=splits).raw == EXPECTED


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(CHUNKED) - 1), max_size=12))
def test_any_splits_of_a_chunked_response_give_the_same_bytes(splits):
    assert serve(CHUNKED, splits=splits).raw == EXPECTED_CHUNKED
