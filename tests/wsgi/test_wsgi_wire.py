"""PEP 3333 on every real WSGI server: wsgiref, waitress, werkzeug, cheroot, gunicorn (sync
and gthread) and granian, each on 127.0.0.1 port 0, with raw-socket clients that see the
framing. Each check is made of the app behind the filter (``/up``, ``/stream``) and, where
the point is "as without the filter", of the app alone (``/bare``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from wire_site import MAX_BLOCKS, PAGE
from wsgi_servers import ALL, Served, serving, wire_request

#: What granian's WSGI does not support (2.x): ``write()``, and a ``start_response`` made
#: after the app returned (it takes 200 and no headers).
NO_WRITE = {"granian"}


@pytest.fixture(scope="module", params=ALL)
def served(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    page = folder / "page.html"
    page.write_bytes(PAGE * 100)
    journal = str(folder / "journal")
    with serving(request.param, journal, str(page)) as port:
        yield Served(request.param, port, journal)


def cut_short(reply) -> bool:
    """Whether the client can tell the response did not arrive whole and well: no reply at
    all, a body its framing says is incomplete, or the server's own error. wsgiref answers
    HTTP/1.0, a body without a length delimited by the close: one cut short looks whole,
    with or without the filter, so there it is told by the body that came."""
    if reply.status is None or not reply.complete or reply.status >= 500:
        return True
    return reply.status_line.startswith("HTTP/1.0") and "content-length" not in reply.headers


# -- whole responses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("/up/page", PAGE.upper()), ("/up/page?type=text", PAGE), ("/stream/page", PAGE.upper())],
    ids=["filtered", "passed", "streamed"],
)
def test_a_response_arrives_whole_and_its_iterable_is_closed_once(served, path, body):
    reply, events = served.request(path)
    assert (reply.status, reply.body, reply.complete) == (200, body, True)
    assert events.count("close") == 1


@pytest.mark.parametrize("lazy", ["", "&lazy=1"], ids=["started", "lazy"])
@pytest.mark.parametrize("kind", ["html", "text"], ids=["filtered", "passed"])
def test_empty_chunks_around_the_body_change_nothing(served, kind, lazy):
    if lazy and served.name == "granian":
        pytest.skip("granian takes no start_response made after the app returned")
    reply, events = served.request(f"/up/empties?type={kind}{lazy}")
    body = b"<p>a</p><p>b</p>"
    assert (reply.status, reply.body, reply.complete) == (200, body.upper() if kind == "html" else body, True)
    assert events.count("close") == 1


@pytest.mark.parametrize("lazy", ["", "&lazy=1"], ids=["before-the-iterable", "during-the-iteration"])
@pytest.mark.parametrize("kind", ["html", "text"], ids=["filtered", "passed"])
def test_write_output_and_the_iterable_arrive_in_order(served, kind, lazy):
    if served.name in NO_WRITE and (kind == "text" or lazy):
        pytest.skip(f"{served.name} has no write(), nor a start_response made after the app returned")
    reply, events = served.request(f"/up/write?type={kind}{lazy}")
    body = b"<p>a</p><p>b</p><p>c</p>"
    assert (reply.status, reply.body, reply.complete) == (200, body.upper() if kind == "html" else body, True)
    assert events.count("close") == 1


def test_the_filters_own_412_arrives_whole_without_the_servers_write(served):
    reply, events = served.request("/up/page", headers={"If-Match": '"abc"'})
    assert (reply.status, reply.body, reply.complete) == (412, b"Precondition Failed\nThe page has changed.\n", True)
    assert events.count("close") == 1


@pytest.mark.parametrize("line", ["599+", "299+Fine+Indeed"])
def test_a_status_line_arrives_as_the_app_alone_gives_it(served, line):
    alone, _ = served.request(f"/bare/status?line={line}")
    filtered, _ = served.request(f"/up/status?line={line}")
    assert filtered.status_line == alone.status_line and filtered.status == int(line[:3])


# -- responses cut short ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/up/cut?type=text", "/up/cut?type=html", "/stream/cut?type=html"])
@pytest.mark.parametrize("lazy", [False, True], ids=["started", "lazy"])
def test_a_body_that_fails_after_its_first_chunk_reaches_the_client_cut_short(served, path, lazy):
    reply, events = served.request(path.replace("/cut", "/lazy-cut") if lazy else path)
    assert cut_short(reply), reply
    if "html" in path and reply.status == 200:  # filtered: never the unfiltered part
        assert b"<p>first" not in reply.body
    assert events.count("close") == 1
    assert events.count("stream-close") == (1 if path.startswith("/stream") else 0)


@pytest.mark.parametrize("path", ["/up/long?type=text", "/up/lazy-long?type=text", "/stream/long?type=html"])
def test_a_client_gone_mid_stream_has_the_apps_iterable_closed_once(served, path):
    events = served.hang_up(path, 300_000)
    assert events.count("close") == 1
    assert events.count("chunk") < MAX_BLOCKS  # read no further than the server could send
    assert events.count("stream-close") == (1 if path.startswith("/stream") else 0)


@pytest.mark.parametrize("path", ["/bare/short", "/up/short", "/stream/short", "/up/short?type=text"])
def test_a_body_short_of_its_content_length_never_arrives_complete(served, path):
    # The app says 100 bytes and sends 50: alone, every server sends a response the client
    # can tell is incomplete. Filtered, it must not become a complete page.
    reply, events = served.request(path)
    assert cut_short(reply), reply
    assert events.count("close") == 1


@pytest.mark.parametrize("path", ["/up/overlong", "/stream/overlong"])
def test_a_filtered_body_longer_than_its_content_length_never_arrives_complete_past_that_length(served, path):
    # The app says 10 bytes and sends 50: alone, servers send the first 10 (cheroot answers 500).
    reply, events = served.request(path)
    assert cut_short(reply) or len(reply.body) <= 10, reply
    assert events.count("close") == 1


# -- bodiless responses and file wrappers -------------------------------------------------


@pytest.mark.parametrize("kind", ["html", "text"], ids=["filtered-type", "other-type"])
def test_the_body_of_an_answer_to_a_head_is_never_read(served, kind):
    reply, events = served.request(f"/up/long?type={kind}", method="HEAD")
    assert (reply.status, reply.wire in (b"", b"0\r\n\r\n")) == (200, True)  # waitress: see docs/guarantees.md
    assert (events.count("chunk"), events.count("close")) == (0, 1)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_file_wrapper_passed_through_is_read_no_more_than_without_the_filter(served, method):
    # gunicorn sends it with sendfile (no read at all); the filter must leave it that way.
    alone, alone_events = served.request("/bare/file?type=text", method)
    filtered, events = served.request("/up/file?type=text", method)
    assert (filtered.status, filtered.body) == (alone.status, alone.body)
    assert events.count("read") <= alone_events.count("read")
    assert events.count("close") == 1


def test_a_filtered_file_wrapper_is_read_and_filtered(served):
    reply, events = served.request("/up/file")
    assert (reply.status, reply.body, reply.complete) == (200, (PAGE * 100).upper(), True)
    assert events.count("close") == 1


# -- start_response again, with exc_info ----------------------------------------------------


@pytest.mark.parametrize("first", ["html", "text"])
@pytest.mark.parametrize("then", ["html", "text"])
def test_a_restart_before_any_body_replaces_the_response(served, first, then):
    reply, events = served.request(f"/up/restart?first={first}&then={then}")
    assert (reply.status, reply.body, reply.complete) == (500, b"<p>error page</p>", True)
    assert events.count("close") == 1


@pytest.mark.parametrize("how", ["", "&write=1"], ids=["yielded", "written"])
@pytest.mark.parametrize("then", ["html", "text"])
def test_a_restart_after_body_went_out_cuts_the_response_short(served, then, how):
    reply, events = served.request(f"/up/restart-late?first=text&then={then}{how}")
    assert cut_short(reply) and b"error page" not in reply.body, reply
    assert events.count("close") == 1


# -- the request --------------------------------------------------------------------------


def test_a_range_of_a_filtered_page_after_the_app_read_the_request_content(served):
    # The app answers the Range with its own 206 of the unfiltered page: asked again without
    # it (and told there is no content left to read), then the range of the filtered page.
    reply, events = served.request("/up/ranged", headers={"Range": "bytes=0-4"}, content=b"hello")
    assert (reply.status, reply.body, reply.headers["content-range"]) == (206, b"<P></", "bytes 0-4/7")
    assert (events.count("call"), events.count("close")) == (2, 2)


def test_a_revalidation_of_a_filtered_page_asks_the_app_again_and_closes_both_answers(served):
    reply, events = served.request("/up/unchanged", headers={"If-None-Match": '"v1"'})
    assert (reply.status, reply.body) == (200, PAGE.upper())
    assert (events.count("call"), events.count("close")) == (2, 2)


def test_concurrent_requests_each_get_their_own_page(served):
    def one(number: int) -> bool:
        kind = "html" if number % 2 else "text"
        reply = wire_request(served.port, f"/up/thread?id={number}&type={kind}")
        page = f"<p>{number}</p>".encode()
        return (reply.status, reply.body, reply.complete) == (200, page.upper() if kind == "html" else page, True)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(80)))
    assert all(results)
