"""Set-Cookie lines a filter adds go out exactly as written, as on every other host: Django sends
cookies from ``response.cookies``, where SimpleCookie would drop or misread attributes it does not know."""

from __future__ import annotations

import pickle

import pytest
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.test.utils import override_settings
from django_middleware_project import COOKIE_LINES, FILTER_MIDDLEWARE, HERE, AddCookieLines, project
from django_servers import exchange, uvicorn_serving, waitress_serving

CACHE = "django.middleware.cache.CacheMiddleware"


def cookie_lines(response) -> list[str]:
    """The Set-Cookie lines Django's handlers send for ``response`` (each cookie's ``output(header="")``)."""
    return lines_of(response.cookies)


def lines_of(cookies) -> list[str]:
    return [cookie.output(header="").strip() for cookie in cookies.values()]


def get(path: str = "/html/", lines: list[str] = COOKIE_LINES, middleware=(FILTER_MIDDLEWARE,)):
    with project([AddCookieLines(lines="|".join(lines))], middleware=middleware):
        return Client().get(path)


def test_an_attribute_the_standard_library_does_not_know_is_kept():
    assert COOKIE_LINES[0] in cookie_lines(get(lines=[COOKIE_LINES[0]]))


def test_priority_stays_an_attribute_and_does_not_become_a_cookie():
    response = get(lines=[COOKIE_LINES[1]])
    assert (cookie_lines(response), "Priority" in response.cookies) == ([COOKIE_LINES[1]], False)


def test_two_lines_for_one_cookie_name_both_go_out():
    lines = ["a=1; Path=/one", "a=2; Path=/two"]
    assert cookie_lines(get(lines=lines)) == lines


def test_a_line_for_a_cookie_the_view_set_goes_out_beside_the_views_own():
    added = "session=xyz; Path=/other"
    assert cookie_lines(get("/cookie/", [added])) == ["session=abc; Path=/", added]


def test_a_line_equal_to_one_the_view_set_as_a_header_goes_out_as_a_line_of_its_own():
    response = get("/header-cookie/", ["consent=1; Path=/"])
    lines = [value for name, value in response.items() if name.lower() == "set-cookie"] + cookie_lines(response)
    assert lines == ["consent=1; Path=/", "consent=1; Path=/"]  # as WSGI, ASGI and ISAPI send them


def test_an_added_cookie_is_read_by_its_name_and_value():
    cookie = get(lines=["added=1; Path=/"]).cookies["added"]
    assert (cookie.key, cookie.value) == ("added", "1")


def test_the_test_client_keeps_added_cookies_and_sends_them_back():
    with project([AddCookieLines()]):
        client = Client()
        client.get("/html/")
        assert client.get("/cookies-seen/").json() == {"chip": "1", "pri": "2"}


def test_a_line_for_the_views_cookie_on_its_path_replaces_it_as_a_browser_would():
    # The view sets session=abc (Path=/); the filter deletes it: a browser applies the
    # later line, and so must the test client's jar (one line goes out, the filter's).
    deletion = "session=; Max-Age=0; Path=/"
    response = get("/cookie/", [deletion])
    assert cookie_lines(response) == [deletion]
    with project([AddCookieLines(lines=deletion)]):
        client = Client()
        client.get("/cookie/")
        assert client.get("/cookies-seen/").json() == {"session": ""}  # as after Django's own delete_cookie


def test_a_partitioned_line_for_the_views_cookie_goes_out_beside_it():
    # Browsers keep a partitioned cookie apart from the unpartitioned one of its name (CHIPS).
    partitioned = "session=xyz; Path=/; Secure; Partitioned"
    assert cookie_lines(get("/cookie/", [partitioned])) == ["session=abc; Path=/", partitioned]


def test_set_cookie_above_the_filter_replaces_an_added_line_of_that_name():
    response = get(lines=[COOKIE_LINES[1]], middleware=[f"{HERE}.sets_pri_cookie", FILTER_MIDDLEWARE])
    assert cookie_lines(response) == ["pri=3; Path=/"]


def test_an_added_line_survives_djangos_cache_middleware():
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": HERE}}
    with override_settings(CACHES=caches):
        first = get(middleware=[CACHE, FILTER_MIDDLEWARE])
        cached = get(middleware=[CACHE, FILTER_MIDDLEWARE])  # pickled by the cache, unpickled here
    assert ("Age" in first, "Age" in cached) == (False, True)  # FetchFromCacheMiddleware dates what it serves
    assert cookie_lines(cached) == cookie_lines(first) == COOKIE_LINES


def test_an_added_line_stays_as_written_when_its_cookie_jar_is_pickled():
    cookies = get().cookies
    assert lines_of(pickle.loads(pickle.dumps(cookies))) == COOKIE_LINES


@pytest.mark.parametrize("server", ["waitress", "uvicorn"])
def test_added_set_cookie_lines_go_out_as_written_on_a_real_server(server):
    with project([AddCookieLines()]):
        if server == "waitress":
            with waitress_serving(get_wsgi_application()) as port:
                _, headers, _ = exchange(port, "GET", "/html/")
        else:
            with uvicorn_serving(get_asgi_application()) as port:
                _, headers, _ = exchange(port, "GET", "/html/")
    assert [value.strip() for name, value in headers if name == "set-cookie"] == COOKIE_LINES


@pytest.mark.parametrize("server", ["waitress", "uvicorn"])
def test_an_added_set_cookie_line_that_is_not_ascii_is_the_clean_500_on_every_server(server, caplog):
    # RFC 6265 section 4.1.1: a cookie line is ASCII. Django's ASGI handler encodes cookies as
    # ASCII after the middleware returned: it failed there, with the server's own error page.
    with project([AddCookieLines(lines="city=Montréal; Path=/")]):
        serving = waitress_serving if server == "waitress" else uvicorn_serving
        with serving(get_wsgi_application() if server == "waitress" else get_asgi_application()) as port:
            status, headers, body = exchange(port, "GET", "/html/")
    assert (status, body) == (500, b"Internal Server Error\n")
    assert not [value for name, value in headers if name == "set-cookie"]
    assert "is not ASCII, as a cookie line must be" in caplog.text
