"""Keep-alive connections: per-connection state in FilterContext, requests in sequence."""

from __future__ import annotations

from filter_harness import PAGE, UpperFilter, filtered, html, serve

from dualfilter.isapi.filter.mode import Connection
from dualfilter.isapi.testing import FilterHost, raw_response

IMAGE = raw_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", "4")], [b"\x89PNG"])


def test_two_filtered_requests_on_one_connection():
    first, second = html(b"<p>first</p>"), html(chunks=[b"<p>sec", b"ond</p>"], chunked=True)
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as connection:
        one = connection.request(response=first, splits=[8, 50])
        two = connection.request(response=second, splits=[3, 61])
    assert (one.raw, two.raw) == (filtered(first), html(b"<P>SECOND</P>"))


def test_filtered_passing_and_filtered_again_on_one_connection():
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as connection:
        bodies = [connection.request(response=raw, splits=[20]).raw for raw in (html(), IMAGE, html(b"<b>x</b>"))]
    assert bodies == [filtered(html()), IMAGE, filtered(html(b"<b>x</b>"))]


def test_connection_state_lives_in_filter_context():
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as connection:
        connection.request(response=html())
        assert type(connection.filter_context) is Connection


def test_connection_state_is_the_same_object_for_every_request():
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as connection:
        connection.request(response=html())
        state = connection.filter_context
        connection.request(response=IMAGE)
        assert connection.filter_context is state


def test_no_response_is_under_way_between_requests():
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as connection:
        connection.request(response=html(), splits=[10])
        assert connection.filter_context.exchange is None


def test_end_of_net_session_lets_go_of_the_state():
    with FilterHost(UpperFilter.isapi_filter()) as iis:
        connection = iis.connection()
        connection.request(response=html())
        state = connection.filter_context
        connection.close()
    assert connection.filter_context is None and state.exchange is None


def test_connections_do_not_share_state():
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as a, iis.connection() as b:
        a.request(response=html())
        b.request(response=html())
        assert a.filter_context is not b.filter_context


def test_a_request_on_another_connection_while_one_is_under_way():
    raw_a, raw_b = html(b"<p>a</p>"), html(b"<p>b</p>")
    with FilterHost(UpperFilter.isapi_filter()) as iis, iis.connection() as a, iis.connection() as b:

        def site_a(ecb):
            b.request(response=raw_b, splits=[5])
            return raw_a

        assert a.request(response=site_a, splits=[7]).raw == filtered(raw_a)
        assert b.received == filtered(raw_b)


def test_the_filters_own_writes_pass_untouched():
    response = serve(html(), splits=[9])
    own = [n for n in response.notifications if n.nested]
    assert own and all(not n.replaced and n.sent == n.offered for n in own)


def test_body_of_a_filtered_keep_alive_response_ends_where_its_length_says():
    response = serve(html())
    assert response.header("Content-Length") == str(len(PAGE)) and not response.closed
