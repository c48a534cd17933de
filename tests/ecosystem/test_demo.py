"""``dualfilter serve --demo``'s front page: the same page before and after the filters, and their source.

The demo is served for real (the command in a subprocess, on a free port);
the front page is read as a browser reads it: its frames' documents are what
their ``srcdoc`` decodes to, or what their ``src`` returns.
"""

from __future__ import annotations

import html
import inspect
from html.parser import HTMLParser

import httpx
import pytest

from dualfilter import demo
from tests.support.cli_servers import command


class _Frames(HTMLParser):
    """The attributes of each iframe by id, and the text of each ``<pre>``, as a browser parses them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.frames: dict[str, dict[str, str]] = {}
        self.pre: list[str] = []
        self._in_pre = False

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            values = {name: value or "" for name, value in attrs}
            self.frames[values["id"]] = values
        elif tag == "pre":
            self._in_pre = True
            self.pre.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data):
        if self._in_pre:
            self.pre[-1] += data


@pytest.fixture(scope="module")
def front():
    with command("serve", "--demo") as server, httpx.Client(base_url=server.url, timeout=10) as client:
        response = client.get("/")
        parser = _Frames()
        parser.feed(response.text)
        yield client, response, parser


def test_the_front_page_is_html(front):
    _, response, _ = front
    assert (response.status_code, response.headers["content-type"]) == (200, "text/html; charset=utf-8")


def test_the_before_frame_shows_the_page_exactly_as_the_app_writes_it(front):
    _, _, page = front
    assert page.frames["before"]["srcdoc"] == demo.PAGE
    assert "This page is UNFILTERED." in page.frames["before"]["srcdoc"]


def test_the_after_frame_loads_the_same_page_through_the_filters(front):
    client, _, page = front
    after = client.get(page.frames["after"]["src"])
    assert page.frames["after"]["src"] == demo.PAGE_PATH
    assert after.text == demo.PAGE.replace("UNFILTERED", "FILTERED").replace("</body>", demo.BANNER + "</body>")


def test_the_two_views_differ_by_what_the_filters_did(front):
    client, _, page = front
    before, after = page.frames["before"]["srcdoc"], client.get(page.frames["after"]["src"]).text
    assert "This page is UNFILTERED." in before and "This page is FILTERED." in after
    assert 'id="dualfilter-banner"' not in before and 'id="dualfilter-banner"' in after


def test_the_front_page_shows_the_source_of_the_filters_that_run(front):
    _, _, page = front
    assert page.pre == [inspect.getsource(demo.filters)]
    assert 'Replace(pattern="UNFILTERED", repl="FILTERED"' in page.pre[0]


def test_filters_added_on_the_command_line_do_not_reach_the_before_view():
    with command("serve", "--demo", "--filter", "replace?pattern=FILTERED&repl=filtered twice") as server:
        response = httpx.get(server.url + "/", timeout=10)
    page = _Frames()
    page.feed(response.text)
    assert page.frames["before"]["srcdoc"] == demo.PAGE
    assert page.pre == [inspect.getsource(demo.filters)]


def test_the_front_page_carries_no_raw_copy_the_filters_could_touch():
    body = demo.compare_page()
    assert demo.MARK not in body
    assert body.count("</body>") == 1
    assert html.unescape(body).count(demo.MARK) == 2  # the page's own word and the pattern in the source
