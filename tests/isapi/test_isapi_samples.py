"""pywin32's sample scripts (their equivalents in ``samples/``), run as users run them: alone, and
wrapped by a dualfilter filter, each as a SimpleExtension (synchronous) and as a
ThreadPoolExtension (HSE_STATUS_PENDING, DoneWithSession from a worker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from isapi_harness import UpperFilter
from samples import advanced, exerciser, redirector, redirector_asynch, redirector_with_filter

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import ExtensionHost, FakeECB, FilterHost, call_extension, extension_site

PAGE = b"<html><body><p>upstream page</p></body></html>"
BIG = b"<html><body>" + b"<p>row</p>" * 3000 + b"</body></html>"
KINDS = ["Extension", "PooledExtension"]


class Upstream(BaseHTTPRequestHandler):
    """The site the redirectors fetch from."""

    def do_GET(self) -> None:
        body = {"/page": PAGE, "/big": BIG}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def upstream(monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for module in (redirector, redirector_asynch, redirector_with_filter):
        monkeypatch.setattr(module, "UPSTREAM", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def extension(module, kind: str, wrapped: bool):
    inner = getattr(module, kind)()
    return UpperFilter.isapi(inner) if wrapped else inner


def get(module, kind: str, path: str, *, wrapped: bool = True, **options):
    with ExtensionHost(extension(module, kind, wrapped)) as host:
        return host.get(path, **options)


# -- samples/test.py --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_exerciser_sends_its_own_source_through_transmit_file_under_a_filter(kind):
    response = get(exerciser, kind, "/PyISAPITest/exerciser.py")
    with open(exerciser.SOURCE, "rb") as source:
        assert (response.status, response.body, response.done_status) == (200, source.read(), HSE_STATUS_SUCCESS)
    assert not response.keep_alive  # HSE_IO_DISCONNECT_AFTER_SEND


@pytest.mark.parametrize("kind", KINDS)
def test_exerciser_page_is_filtered(kind):
    response = get(exerciser, kind, "/PyISAPITest/")
    assert response.body == b"<HTML><BODY>\nTHE ROOT OF THIS SITE IS AT C:\\INETPUB\\WWWROOT\\\n</BODY></HTML>\n"


@pytest.mark.parametrize("kind", KINDS)
def test_exerciser_page_unfiltered(kind):
    response = get(exerciser, kind, "/PyISAPITest/", wrapped=False)
    assert b"The root of this site is at C:\\inetpub\\wwwroot\\" in response.body


# -- samples/advanced.py ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_advanced_lists_the_server_variables_asked_for(kind):
    response = get(advanced, kind, "/AdvancedPythonSample/", query_string="URL&SERVER_NAME&NOPE")
    assert b"URL=B'/ADVANCEDPYTHONSAMPLE/'" in response.body and b"SERVER_NAME=B'LOCALHOST'" in response.body
    assert b"NOPE=B'&LT;NO SUCH VARIABLE&GT;'" in response.body and response.header("Content-Length")


@pytest.mark.parametrize("kind", KINDS)
def test_advanced_reports_unhealthy_through_the_filter(kind):
    ext = extension(advanced, kind, wrapped=True)
    with ExtensionHost(ext):
        ecb = FakeECB("GET", "/AdvancedPythonSample/ReportUnhealthy")
        response = call_extension(ext, ecb)
    assert ecb.unhealthy == "I'm a little sick" and response.status == 200


# -- samples/redirector.py --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_redirector_relays_the_upstream_page_filtered(kind):
    response = get(redirector, kind, "/page")
    assert (response.status, response.body) == (200, PAGE.upper())
    assert response.header("Content-Length") == str(len(PAGE)) and response.header("Content-Type").startswith("text/html")


@pytest.mark.parametrize("kind", KINDS)
def test_redirector_relays_the_upstream_page_unfiltered(kind):
    assert get(redirector, kind, "/page", wrapped=False).body == PAGE


@pytest.mark.parametrize("kind", KINDS)
def test_redirector_lets_iis_serve_excluded_urls_with_exec_url(kind):
    child = (200, [("Content-Type", "text/html")], b"<p>iis start</p>")
    redirector.exec_results.clear()
    response = get(redirector, kind, "/iisstart.htm", wrapped=False, exec_url=lambda url: child)
    assert response.body == b"<p>iis start</p>" and redirector.exec_results == [("/iisstart.htm", (200, 0, 0))]


def test_redirector_exec_url_is_refused_under_a_filter_synchronously():
    """A child request's response would bypass the filter: the ECB refuses ExecURL and pywin32's
    error page answers (PythonEng.cpp, ExtensionError)."""
    response = call_extension(
        extension(redirector, "Extension", wrapped=True), FakeECB("GET", "/iisstart.htm"), raise_errors=False
    )
    assert isinstance(response.error, ExtensionError) and b"Python ISAPI Error" in response.body


def test_redirector_exec_url_is_refused_under_a_filter_on_the_pool():
    response = get(redirector, "PooledExtension", "/iisstart.htm")
    assert b"EXECURL IS NOT AVAILABLE UNDER A FILTER" in response.body and response.log_status == HSE_STATUS_ERROR


# -- samples/redirector_asynch.py -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_asynch_redirector_relays_in_asynchronous_chunks_filtered(kind):
    response = get(redirector_asynch, kind, "/big")
    assert response.body == BIG.upper() and response.done_status == HSE_STATUS_SUCCESS


@pytest.mark.parametrize("kind", KINDS)
def test_asynch_redirector_writes_each_chunk_asynchronously_unfiltered(kind):
    response = get(redirector_asynch, kind, "/big", wrapped=False)
    assert response.body == BIG and len(response.writes) == -(-len(BIG) // redirector_asynch.CHUNK_SIZE)


# -- samples/redirector_with_filter.py --------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_redirector_filter_moves_requests_under_the_virtual_dir_and_counts_them(kind):
    redirector_with_filter.counts.clear()
    with ExtensionHost(extension(redirector_with_filter, kind, wrapped=True)) as host:
        site = extension_site(host.extension)
        with FilterHost(redirector_with_filter.Filter()) as iis:
            # The extension sends its headers with keepAlive False: IIS closes each connection.
            responses = [iis.connection().request("GET", "/page", response=site) for _ in range(2)]
    assert [(response.body, response.closed) for response in responses] == [(PAGE.upper(), True)] * 2
    assert redirector_with_filter.counts == [1, 1]  # one request on each connection


@pytest.mark.parametrize("kind", KINDS)
def test_redirector_extension_alone_serves_only_its_virtual_dir(kind):
    response = get(redirector_with_filter, kind, "/page", wrapped=False)
    assert (response.status, response.body) == (404, b"Not proxying /page")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("module", [redirector, redirector_asynch], ids=["redirector", "redirector_asynch"])
def test_redirectors_behind_dualfilters_isapi_filter(module, kind):
    with ExtensionHost(extension(module, kind, wrapped=False)) as host:
        site = extension_site(host.extension)
        with FilterHost(UpperFilter.isapi_filter()) as iis:
            # The samples send no Content-Length and keepAlive False: each body ends with its connection.
            first = iis.connection().request("GET", "/page", response=site, splits=[17])
            second = iis.connection().request("GET", "/big", response=site)
    assert (first.status, first.body, second.body) == (200, PAGE.upper(), BIG.upper())
    assert first.header("Content-Length") == str(len(PAGE)) and first.closed and second.closed
