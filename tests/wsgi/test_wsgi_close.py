"""The app's iterable is closed exactly once, whichever way the response goes."""

from __future__ import annotations

import gc

import pytest
from wsgi_harness import HTML, TEXT, TrackingIterable, UpperFilter, call, read, serve, tracking_app, wrap

from dualfilter import Filter


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("filter bug")


class Failing(TrackingIterable):
    """Raises after its chunks."""

    def __iter__(self):
        yield from super().__iter__()
        raise RuntimeError("app bug")


def lazy(tracked: TrackingIterable, content_type: str):
    def app(environ, start_response):
        tracked.start = lambda: start_response("200 OK", [("Content-Type", content_type)])
        return tracked

    return app


def test_a_passthrough_iterable_is_closed_once_by_the_server():
    tracked = TrackingIterable([b"a", b"b"])
    serve(wrap(UpperFilter, tracking_app(tracked, TEXT)))
    assert tracked.closes == 1


def test_a_filtered_iterable_is_closed_once_before_the_middleware_returns():
    tracked = TrackingIterable([b"<p>a</p>"])
    recorder, result = call(UpperFilter(tracking_app(tracked)))
    assert tracked.closes == 1
    read(result)
    assert tracked.closes == 1


def test_a_filtered_iterable_is_closed_once_when_the_filter_raises():
    tracked = TrackingIterable([b"<p>a</p>"])
    response = serve(wrap(Broken, tracking_app(tracked)))
    assert response.status == 500
    assert tracked.closes == 1


def test_a_lazy_passthrough_iterable_is_closed_once_when_the_client_stops_early():
    tracked = TrackingIterable([b"a", b"b", b"c"])
    recorder, result = call(UpperFilter(lazy(tracked, TEXT)))
    next(iter(result))
    result.close()
    assert (tracked.served, tracked.closes) == (1, 1)


def test_a_lazy_passthrough_dropped_past_its_first_chunk_is_closed_once_by_the_server():
    tracked = TrackingIterable([b"a", b"b", b"c", b"d"])
    recorder, result = call(UpperFilter(lazy(tracked, TEXT)))
    body = iter(result)
    assert [next(body), next(body), next(body)] == [b"a", b"b", b"c"]  # past the first: the app's own chunks
    result.close()
    del body  # the server lets go of the iterator it stopped reading
    gc.collect()
    assert (tracked.served, tracked.closes) == (3, 1)


def test_a_lazy_passthrough_iterable_read_to_the_end_is_closed_once():
    tracked = TrackingIterable([b"a", b"b"])
    serve(wrap(UpperFilter, lazy(tracked, TEXT)))
    assert tracked.closes == 1


def test_a_lazy_filtered_iterable_is_closed_once():
    tracked = TrackingIterable([b"<p>a</p>"])
    response = serve(wrap(UpperFilter, lazy(tracked, HTML)))
    assert response.body == b"<P>A</P>"
    assert tracked.closes == 1


def test_a_lazy_iterable_the_server_never_reads_is_closed_once():
    tracked = TrackingIterable([b"a"])
    recorder, result = call(UpperFilter(lazy(tracked, HTML)))
    result.close()
    result.close()
    assert tracked.closes == 1


def test_a_filtered_iterable_that_raises_is_closed_once():
    tracked = Failing([b"<p>a</p>"])
    with pytest.raises(RuntimeError, match="app bug"):
        call(UpperFilter(tracking_app(tracked)))
    assert tracked.closes == 1


def test_a_lazy_iterable_that_raises_is_closed_once_though_the_server_closes_too():
    tracked = Failing([b"<p>a</p>"])
    response = serve(wrap(UpperFilter, lazy(tracked, HTML)))
    assert response.status == 500
    assert tracked.closes == 1


def test_an_oversized_filtered_iterable_is_closed_once_and_not_read_further():
    tracked = TrackingIterable([b"x" * 10] * 5)
    response = serve(wrap(UpperFilter, tracking_app(tracked), max_buffer_size=15))
    assert response.status == 502
    assert (tracked.served, tracked.closes) == (2, 1)


def test_a_filtered_iterable_that_passes_oversized_is_closed_once():
    tracked = TrackingIterable([b"x" * 10] * 5)
    response = serve(wrap(UpperFilter, tracking_app(tracked), max_buffer_size=15, oversize="pass"))
    assert response.body == b"x" * 50
    assert tracked.closes == 1


def test_an_oversized_response_passing_unfiltered_is_closed_once_when_the_client_stops_early():
    tracked = TrackingIterable([b"x" * 10] * 5)
    recorder, result = call(UpperFilter(tracking_app(tracked), max_buffer_size=15, oversize="pass"))
    next(iter(result))
    result.close()
    assert (tracked.served, tracked.closes) == (2, 1)
