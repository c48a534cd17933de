"""Conditional requests with force_no_conditional=False: derived validators."""

from __future__ import annotations

from dualfilter.request_policy import RequestPolicy
from dualfilter.testing import collect, make_environ
from dualfilter.validators import derive, translate_if_none_match
from tests.support.filters import Upper
from tests.support.machines import driven_machine

from .conftest import drive

HTML = [("Content-Type", "text/html"), ("ETag", '"v1"')]


def etag_of(headers):
    return dict(headers).get("ETag")


def test_by_default_a_filtered_response_carries_no_etag():
    assert etag_of(drive(Upper(), [b"x"], headers=HTML)[2]) is None


def test_without_force_no_conditional_a_filtered_response_gets_a_derived_weak_etag():
    flt = Upper(force_no_conditional=False)
    etag = etag_of(drive(flt, [b"x"], headers=HTML)[2])
    assert etag == f'W/"v1-dfs{flt.validator_token()}"'


def test_the_derived_etag_changes_with_the_filters_options():
    a = Upper(force_no_conditional=False)
    b = Upper(force_no_conditional=False, output_encoding="latin-1")
    assert a.validator_token() != b.validator_token()


def test_a_weak_app_etag_stays_recognisable_as_weak():
    assert derive('W/"v1"', "abc") == 'W/"v1-dfwabc"'


def test_without_an_app_etag_no_etag_is_invented():
    flt = Upper(force_no_conditional=False)
    assert etag_of(drive(flt, [b"x"], headers=[("Content-Type", "text/html")])[2]) is None


def test_if_none_match_shows_the_app_its_own_tag_for_the_derived_one():
    # Only its own tags: an app may compare the whole header with the tag it issued.
    assert translate_if_none_match('W/"v1-dfsabc"', "abc") == '"v1"'


def test_a_tag_the_client_sends_beside_a_derived_one_is_not_shown_to_the_app():
    # It may be from before the filter existed: the app's 304 for it would stand for
    # a filtered page the client never got (DESIGN: such a validator never revalidates it).
    assert translate_if_none_match('W/"v1-dfsabc", "other"', "abc") == '"v1"'


def test_if_none_match_without_a_derived_tag_reaches_the_app_as_sent():
    assert translate_if_none_match('"v1", W/"v2"', "abc") == '"v1", W/"v2"'
    assert translate_if_none_match("*", "abc") == "*"


def test_only_derived_tags_are_shown_where_the_app_cannot_be_asked_twice():
    assert translate_if_none_match('W/"v1-dfsabc", "other"', "abc", only_derived=True) == '"v1"'
    assert translate_if_none_match('"other"', "abc", only_derived=True) == ""
    # Any page: its untyped 304 may be of a page not filtered, which that host cannot tell.
    assert translate_if_none_match(" * ", "abc", only_derived=True) == ""


def test_a_derived_tag_from_another_filter_configuration_is_not_translated():
    assert translate_if_none_match('W/"v1-dfsxyz"', "abc") == 'W/"v1-dfsxyz"'


def test_the_wsgi_environ_is_translated_for_the_app():
    flt = Upper(force_no_conditional=False)
    environ = make_environ(environ={"HTTP_IF_NONE_MATCH": derive('"v1"', flt.validator_token())})
    assert RequestPolicy(flt).environ(environ)["HTTP_IF_NONE_MATCH"] == '"v1"'


def test_asgi_header_pairs_are_translated_for_the_app():
    flt = Upper(force_no_conditional=False)
    derived = derive('"v1"', flt.validator_token()).encode()
    assert dict(RequestPolicy(flt).pairs([(b"if-none-match", derived)]))[b"if-none-match"] == b'"v1"'


def test_the_apps_304_for_a_client_holding_the_filtered_body_carries_the_derived_tag():
    flt = Upper(force_no_conditional=False)
    derived = derive('"v1"', flt.validator_token())
    # The machine reads the request as the client sent it (the app saw its own tag).
    machine = driven_machine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": derived}))
    status, headers, body = collect(machine.start(304, [("ETag", '"v1"')]) + machine.end())
    assert (status, etag_of(headers), body) == (304, derived, b"")


def test_the_confirming_304_carries_only_what_rfc_9110_lists_and_the_apps_cookies():
    # A cache updates its stored headers from a 304 (RFC 9111 section 4.3.4): the app's
    # Content-Type or CSP there would undo on the cached filtered page what the filter
    # changed on it (a charset it re-encoded in, a script hash it allowed).
    flt = Upper(force_no_conditional=False)
    derived = derive('"v1"', flt.validator_token())
    machine = driven_machine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": derived}))
    app_headers = [
        ("ETag", '"v1"'),
        ("Content-Type", "text/html; charset=iso-8859-1"),
        ("Content-Security-Policy", "script-src 'self'"),
        ("Last-Modified", "Wed, 15 Nov 2023 00:00:00 GMT"),
        ("Cache-Control", "max-age=60"),
        ("Vary", "Accept-Language"),
        ("Expires", "Wed, 15 Nov 2023 00:01:00 GMT"),
        ("Date", "Wed, 15 Nov 2023 00:00:00 GMT"),
        ("Content-Location", "/page"),
        ("Set-Cookie", "session=1; Path=/"),
        ("X-Request-Id", "abc"),
    ]
    status, headers, body = collect(machine.start(304, app_headers) + machine.end())
    assert (status, body) == (304, b"")
    assert sorted(name for name, _ in headers) == sorted(
        ["ETag", "Cache-Control", "Vary", "Expires", "Date", "Content-Location", "Set-Cookie"]
    )
    assert etag_of(headers) == derived


def test_a_confirming_304_without_a_tag_of_the_apps_carries_the_one_the_client_holds():
    # RFC 9110 section 15.4.5: the 304 carries the ETag the 200 would have had.
    flt = Upper(force_no_conditional=False)
    derived = derive('"v1"', flt.validator_token())
    machine = driven_machine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": f'"other", {derived}'}))
    status, headers, _ = collect(machine.start(304, [("Cache-Control", "max-age=60")]) + machine.end())
    assert (status, etag_of(headers)) == (304, derived)


def test_a_304_for_a_client_holding_the_apps_own_tag_is_left_alone():
    flt = Upper(force_no_conditional=False)
    machine = driven_machine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": '"v1"'}))
    assert etag_of(collect(machine.start(304, [("ETag", '"v1"')]) + machine.end())[1]) == '"v1"'


def test_the_validator_token_is_the_same_in_every_process_for_options_holding_functions():
    # A function's repr holds its address: the token (and so every derived tag) would
    # differ between workers and restarts, and never revalidate.
    import subprocess
    import sys

    code = (
        "from dualfilter.filters import RewriteLinks\n"
        "import posixpath\n"
        "print(RewriteLinks(function=posixpath.normpath, mapping={'/a/': '/b/'}).validator_token(),"
        " RewriteLinks(function=lambda url: url, mapping={'/a/': '/b/'}).validator_token())"
    )
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
        for _ in range(3)
    }
    assert len(runs) == 1 and len(runs.pop().split()) == 2


def test_the_validator_token_still_tells_options_apart():
    import posixpath

    from dualfilter.filters import RewriteLinks

    tokens = {
        RewriteLinks(function=posixpath.normpath).validator_token(),
        RewriteLinks(function=posixpath.basename).validator_token(),
        RewriteLinks(mapping={"/a/": "/b/"}).validator_token(),
    }
    assert len(tokens) == 3


class StampsItsOwn(Upper):
    """Sets validators for the body it makes: its own ETag and Last-Modified."""

    def filter(self, environ, headers, data):
        headers["ETag"] = '"mine"'
        headers["Last-Modified"] = "Wed, 01 Nov 2023 00:00:00 GMT"
        return super().filter(environ, headers, data)


APP_VALIDATED = [*HTML, ("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT")]


def test_validators_a_filter_sets_for_its_body_go_out_and_the_apps_do_not():
    headers = drive(StampsItsOwn(), [b"x"], headers=APP_VALIDATED)[2]
    assert [(k, v) for k, v in headers if k in ("ETag", "Last-Modified")] == [
        ("ETag", '"mine"'),
        ("Last-Modified", "Wed, 01 Nov 2023 00:00:00 GMT"),
    ]


def test_a_filters_own_etag_stands_in_place_of_the_derived_one():
    headers = drive(StampsItsOwn(force_no_conditional=False), [b"x"], headers=APP_VALIDATED)[2]
    assert [v for k, v in headers if k == "ETag"] == ['"mine"']


def test_a_validator_the_filter_leaves_as_the_app_sent_it_is_dropped():
    class KeepsTheAppsTag(Upper):
        def filter(self, environ, headers, data):
            headers["X-Seen"] = headers["ETag"]  # headers edited, the app's ETag line left as it was
            return super().filter(environ, headers, data)

    headers = dict(drive(KeepsTheAppsTag(), [b"x"], headers=APP_VALIDATED)[2])
    assert headers["X-Seen"] == '"v1"' and "ETag" not in headers and "Last-Modified" not in headers


def test_an_etag_a_chains_stage_set_is_dropped_by_a_stage_that_filters_after_it():
    from dualfilter import chain

    class Appends(Upper):
        def filter(self, environ, headers, data):
            return data + b"!"

    # chain(A, B) is A(B(app)): B filters first.
    stamped_first = drive(chain(Appends, StampsItsOwn)(), [b"x"], headers=APP_VALIDATED)
    assert stamped_first[3] == b"X!" and "ETag" not in dict(stamped_first[2])
    stamped_last = drive(chain(StampsItsOwn, Appends)(), [b"x"], headers=APP_VALIDATED)
    assert stamped_last[3] == b"X!" and dict(stamped_last[2])["ETag"] == '"mine"'
