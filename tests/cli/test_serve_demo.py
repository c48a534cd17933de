"""``dualfilter serve --demo``: the README's first command, served for real."""

from __future__ import annotations

import httpx
import pytest

from dualfilter import demo
from tests.support.cli_servers import command


@pytest.fixture(scope="module")
def site():
    with command("serve", "--demo") as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, client


def test_it_says_where_it_listens(site):
    server, _ = site
    assert server.line == f"dualfilter: serving the demo site with replace, inject on {server.url} (press Ctrl+C to stop)\n"


def test_the_html_page_gets_the_banner_and_the_replacement(site):
    response = site[1].get(demo.PAGE_PATH)
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == demo.PAGE.replace("UNFILTERED", "FILTERED").replace("</body>", demo.BANNER + "</body>").encode()
    assert response.headers.get("content-length", str(len(response.content))) == str(
        len(response.content)
    )  # absent when streamed


def test_the_json_endpoint_is_filtered(site):
    response = site[1].get("/api/status.json")
    assert response.json()["status"] == "FILTERED"
    assert response.headers.get("content-length", str(len(response.content))) == str(
        len(response.content)
    )  # absent when streamed


def test_the_text_file_is_left_alone(site):
    response = site[1].get("/notes.txt")
    assert response.content == demo.NOTES.encode()


def test_the_image_is_left_alone(site):
    response = site[1].get("/logo.png")
    assert (response.headers["content-type"], response.content) == ("image/png", demo.LOGO)
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_404_page_is_left_alone(site):
    response = site[1].get("/missing")
    assert (response.status_code, response.content) == (404, demo.NOT_FOUND.encode())


def test_extra_filters_run_after_the_demos():
    with command("serve", "--demo", "--filter", "replace?pattern=FILTERED&repl=filtered twice") as server:
        response = httpx.get(server.url + demo.PAGE_PATH, timeout=10)
    assert server.line.startswith("dualfilter: serving the demo site with replace, inject, replace on ")
    assert '<p class="status">This page is filtered twice.</p>' in response.text
    assert 'id="dualfilter-banner"' in response.text
