"""The WSGI-style environ a filter sees under ASGI, built from the scope."""

from __future__ import annotations

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter import Filter, validators
from dualfilter.asgi import ScopeEnviron, build_environ
from tests.support.asgi_harness import UpperFilter, body, call, make_scope, raw_app, start


def scope_for_environ():
    return make_scope(
        "/app/page",
        method="POST",
        root_path="/mount",
        query_string=b"a=1&b=%C3%A9",
        headers=[
            (b"host", b"example.com:8443"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"3"),
            (b"x-custom-thing", b"one"),
            (b"x-custom-thing", b"two"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
    )


def test_the_request_line_fields_come_from_the_scope():
    environ = build_environ(scope_for_environ())
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["QUERY_STRING"] == "a=1&b=%C3%A9"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["wsgi.url_scheme"] == "http"


def test_script_name_is_the_root_path_and_path_info_the_rest():
    environ = build_environ(scope_for_environ())
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/mount", "/app/page")


def test_a_path_that_does_not_include_the_root_path_is_kept_whole():
    scope = make_scope("/page")
    scope["root_path"] = "/mount"
    assert build_environ(scope)["PATH_INFO"] == "/page"


def test_a_non_ascii_path_is_latin1_text_of_its_utf8_bytes_as_pep_3333_says():
    environ = build_environ(make_scope("/caf\u00e9"))
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/caf\u00e9"


def test_server_and_client_addresses_come_from_the_scope():
    environ = build_environ(scope_for_environ())
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.com", "80")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("127.0.0.1", "50000")


def test_a_scope_without_server_falls_back_to_localhost_and_the_scheme_port():
    scope = make_scope()
    scope["server"] = None
    scope["scheme"] = "https"
    environ = build_environ(scope)
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("localhost", "443")


def test_request_headers_become_http_keys_and_content_headers_stay_unprefixed():
    environ = build_environ(scope_for_environ())
    assert environ["HTTP_HOST"] == "example.com:8443"
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == "3"
    assert "HTTP_CONTENT_TYPE" not in environ


def test_repeated_request_headers_are_joined_with_commas_and_cookies_with_semicolons():
    environ = build_environ(scope_for_environ())
    assert environ["HTTP_X_CUSTOM_THING"] == "one,two"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"


def test_the_scope_itself_is_under_asgi_scope():
    scope = scope_for_environ()
    assert build_environ(scope)["asgi.scope"] is scope


def test_the_scope_environ_is_not_built_until_read():
    environ = ScopeEnviron(scope_for_environ())
    assert environ._data is None
    assert environ["PATH_INFO"] == "/app/page"
    assert environ._data is not None


def test_range_and_validator_headers_read_before_building_are_what_the_built_environ_holds():
    headers = [(b"Range", b"bytes=0-9"), (b"if_range", b'"a"'), (b"If-None-Match", b'"x"'), (b"if-none-match", b'"y"')]
    scope = make_scope("/", headers=headers)
    built = build_environ(scope)
    environ = ScopeEnviron(scope)
    assert [environ.get(key) for key in ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_ACCEPT")] == [
        built.get(key) for key in ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_ACCEPT")
    ]


def test_range_and_validator_headers_are_read_without_building_the_environ():
    environ = ScopeEnviron(make_scope("/", headers=[(b"range", b"bytes=0-9")]))
    assert environ.get("HTTP_RANGE") == "bytes=0-9"
    assert environ.get("HTTP_IF_RANGE") is None
    assert environ._data is None


def test_the_scope_environ_behaves_as_a_mutable_mapping():
    environ = ScopeEnviron(scope_for_environ())
    environ["myapp.note"] = "kept"
    assert environ.get("myapp.note") == "kept"
    assert "HTTP_HOST" in environ
    assert dict(environ) == environ.copy()
    del environ["myapp.note"]
    assert "myapp.note" not in environ


async def test_a_filter_receives_the_environ_of_the_request():
    seen = {}

    class Peek(Filter):
        def filter(self, environ, headers, data):
            seen.update(method=environ["REQUEST_METHOD"], path=environ["PATH_INFO"], query=environ["QUERY_STRING"])
            seen["scope"] = environ["asgi.scope"]
            return data

    scope = make_scope("/page", query_string=b"q=1")
    await call(Peek.asgi(raw_app(start(), body(b"<p>x</p>"))), scope)
    assert seen == {"method": "GET", "path": "/page", "query": "q=1", "scope": scope}


async def test_a_passthrough_response_never_builds_the_environ(monkeypatch):
    import dualfilter.asgi.environ as environ_module

    def refuse(scope):
        raise AssertionError("environ built for a passthrough response")

    monkeypatch.setattr(environ_module, "build_environ", refuse)
    exchange = await call(UpperFilter.asgi(raw_app(start("text/plain"), body(b"plain"))))
    assert exchange.body == b"plain"


async def test_the_filter_sees_the_request_as_the_client_sent_it():
    seen = {}

    class Peek(Filter):
        def filter(self, environ, headers, data):
            seen["keys"] = {key for key in environ if key.startswith("HTTP_")}
            return data

    scope = make_scope(headers=[(b"host", b"example.com"), (b"range", b"bytes=0-1"), (b"if-none-match", b'"v"')])
    await call(Peek.asgi(raw_app(start(), body(b"<p>x</p>"))), scope)
    assert seen["keys"] == {"HTTP_HOST", "HTTP_RANGE", "HTTP_IF_NONE_MATCH"}


def test_path_info_holds_the_request_paths_bytes_even_where_they_are_not_utf8():
    # PEP 3333, as WSGI servers give it: %FF is the byte 0xFF, which the scope's
    # text ``path`` cannot hold (servers put U+FFFD there); ``raw_path`` has it.
    scope = make_scope("/caf\u00e9/a\ufffdb")
    scope["raw_path"] = b"/caf%C3%A9/a%FFb"
    assert build_environ(scope)["PATH_INFO"] == "/caf\xc3\xa9/a\xffb"


def test_path_info_from_raw_path_leaves_script_name_out():
    scope = make_scope("/x/y", root_path="/app")  # a server's path: escapes decoded
    scope["raw_path"] = b"/app/x%2Fy"
    environ = build_environ(scope)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x/y")


def test_a_unix_socket_server_names_itself_by_the_host_the_client_asked_for():
    # ASGI gives a unix socket as server = [path, None]; PEP 3333 wants a host name.
    scope = make_scope(headers=[(b"host", b"site.example:8080")])
    scope["server"] = ["/run/app.sock", None]
    environ = build_environ(scope)
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("site.example", "8080")


class ReadsTheAppsScope(Filter):
    """Appends what the app's call wrote in its scope: a nonce, a router's path parameters."""

    def filter(self, environ, headers, data):
        scope = environ["asgi.scope"]
        return data + repr((scope.get("nonce"), scope.get("path_params"), environ["PATH_INFO"])).encode()


def nonce_app(statuses):
    """Writes a nonce per call in the scope it is handed; answers ``statuses`` in turn (then 200)."""
    calls = []

    async def app(scope, receive, send):
        calls.append(scope)
        scope["nonce"] = f"n{len(calls)}"
        status = statuses[len(calls) - 1] if len(calls) <= len(statuses) else 200
        headers = [(b"content-type", b"text/html"), (b"etag", b'"v1"')]
        if status == 206:
            headers.append((b"content-range", b"bytes 0-1/8"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(body(b"<p>x</p>"[:2] if status == 206 else b"" if status == 304 else b"<p>x</p>"))

    return app, calls


async def test_the_filter_reads_what_the_app_wrote_in_the_scope_it_was_handed():
    app, calls = nonce_app([200])
    scope = make_scope("/page")
    exchange = await call(ReadsTheAppsScope.asgi(app), scope)
    assert exchange.body == b"<p>x</p>('n1', None, '/page')" and calls == [scope]


async def test_after_a_redispatch_the_filter_reads_what_the_second_call_wrote():
    app, calls = nonce_app([206])
    exchange = await call(ReadsTheAppsScope.asgi(app), make_scope("/page", headers=[(b"range", b"bytes=8-")]))
    assert len(calls) == 2 and exchange.status == 206
    assert exchange.body == b"('n2', None, '/page')"  # the filtered page's range, past the app's own body


async def test_a_call_handed_a_translated_if_none_match_copy_is_read_too():
    app, calls = nonce_app([])
    flt = ReadsTheAppsScope(app, force_no_conditional=False)
    first = await call(flt, make_scope("/page"))
    tag = first.headers[b"etag"]
    exchange = await call(flt, make_scope("/page", headers=[(b"if-none-match", tag + b', "other"')]))
    handed = calls[-1]
    assert [value for name, value in handed["headers"] if name == b"if-none-match"] != [tag + b', "other"']  # a copy, translated
    assert exchange.body == b"<p>x</p>('n2', None, '/page')"


async def test_a_starlette_routes_path_parameters_and_request_state_reach_the_filter():
    # httpx's transport gives no "state" in the scope: Starlette adds it to the scope it was handed.
    import httpx
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    async def page(request):
        request.state.nonce = "from-the-view"
        return HTMLResponse("<p>x</p>")

    class ReadsState(Filter):
        def filter(self, environ, headers, data):
            scope = environ["asgi.scope"]
            return data + repr((scope["state"]["nonce"], scope["path_params"])).encode()

    app = Starlette(routes=[Route("/items/{item}", page)])
    app.add_middleware(ReadsState)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        response = await client.get("/items/7")
    assert response.text == "<p>x</p>('from-the-view', {'item': '7'})"


@settings(max_examples=60, deadline=None)
@given(ranged=st.booleans(), tagged=st.sampled_from([None, "derived", "own"]), streamed=st.booleans())
def test_the_filter_reads_the_clients_request_and_what_the_answering_call_wrote_for_any_request(ranged, tagged, streamed):
    watched = ["HTTP_RANGE", "HTTP_IF_NONE_MATCH"]
    read_by_filter: list = []

    class Reads(Filter):
        force_no_conditional = False

        def filter(self, environ, headers, data):
            read_by_filter.append(({key: environ.get(key) for key in watched}, environ["asgi.scope"].get("app.call")))
            return data

    calls: list = []

    async def app(scope, receive, send):
        calls.append(scope)
        scope["app.call"] = len(calls)
        names = dict(scope["headers"])
        headers = [(b"content-type", b"text/html"), (b"etag", b'"v1"')]
        if b"range" in names:
            await send({"type": "http.response.start", "status": 206, "headers": [*headers, (b"content-range", b"bytes 1-2/8")]})
            await send(body(b"p>"))
        elif names.get(b"if-none-match") == b'"v1"':
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send(body(b""))
        else:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send(body(b"<p>", more=streamed))
            if streamed:
                await send(body(b"x</p>"))

    filtered = Reads.asgi(app)
    derived = validators.derive('"v1"', filtered.filter.etag_token)
    headers = [(b"host", b"example.com")]
    headers += [(b"range", b"bytes=1-")] if ranged else []
    headers += [(b"if-none-match", (derived if tagged == "derived" else '"v1"').encode())] if tagged else []
    anyio.run(call, filtered, make_scope(headers=headers))
    client = {"HTTP_RANGE": "bytes=1-" if ranged else None, "HTTP_IF_NONE_MATCH": None}
    if tagged:
        client["HTTP_IF_NONE_MATCH"] = derived if tagged == "derived" else '"v1"'
    if tagged == "derived" and not ranged:  # the app's 304 confirms the filtered page: nothing to filter
        assert (read_by_filter, len(calls)) == ([], 1)
    else:  # filtered: the client's headers, and the scope of the call that answered (the second, if asked again)
        assert read_by_filter == [(client, len(calls))] and len(calls) == (2 if ranged or tagged else 1)
