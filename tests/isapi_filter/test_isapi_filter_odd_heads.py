"""A head with a field h11 refuses (a name with ``@`` or ``(``, a space in a name, a NUL in
a value) that the filter's own reader takes: the page is filtered however it is framed —
chunked, by its length or to the close — never passed as it came because of the framing
(h11 reads only the framing fields the filter gives it)."""

from __future__ import annotations

import pytest
from filter_harness import HTML_TYPE, serve

from dualfilter.isapi.testing import raw_response

BODY = [b"<p>secret</p>"]


@pytest.mark.parametrize("field", [("X@Name", "v"), ("X(y)", "v"), ("X Name", "v"), ("X-Value", "a\x00b")])
@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_field_h11_refuses_does_not_keep_the_page_from_the_filter(field, framing):
    headers = [HTML_TYPE, field] + ([] if framing == "chunked" else [("Content-Length", "13")])
    response = serve(raw_response("200 OK", headers, BODY, chunked=framing == "chunked"))
    # (read from the bytes the client got: a strict parser refuses the head, as h11 does)
    assert response.raw.endswith(b"\r\n\r\n<P>SECRET</P>") and b"secret" not in response.raw


def test_a_field_h11_refuses_in_a_response_read_to_the_close_is_filtered():
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX@Name: v\r\n\r\n"
    response = serve(head + b"<p>secret</p>")
    assert response.raw.endswith(b"<P>SECRET</P>") and b"secret" not in response.raw
