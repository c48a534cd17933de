"""The WSGI-style environ built from server variables (the filter's, and WSGIExtension's)."""

from __future__ import annotations

import pytest

from dualfilter.isapi.environ import application_root, server_environ, split_path
from dualfilter.isapi.testing import FakeECB


def test_wildcard_map_at_the_site_root_puts_the_path_in_path_info():
    environ = server_environ(FakeECB(path="/a/b"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("", "/a/b")


def test_wildcard_map_in_a_virtual_directory_makes_it_script_name():
    environ = server_environ(FakeECB(path="/app/a/b", app_path="/app"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/a/b")


def test_extension_mapped_script_keeps_its_name():
    environ = server_environ(FakeECB(path="/app/site.wsgi/page", app_path="/app", script_name="/app/site.wsgi"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app/site.wsgi", "/page")


def test_non_ascii_path_is_utf8_bytes_read_as_latin1():
    assert server_environ(FakeECB(path="/café"))["PATH_INFO"] == "/café".encode().decode("latin-1")


def test_path_spelt_in_another_case_than_the_application_is_split_at_the_application():
    environ = server_environ(FakeECB(path="/APP/page", app_path="/app"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/APP", "/page")


def test_non_ascii_application_name_is_script_name_as_utf8_bytes_read_as_latin1():
    environ = server_environ(FakeECB(path="/café/x", app_path="/café"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/café".encode().decode("latin-1"), "/x")


def test_non_ascii_application_name_spelt_in_another_case_is_split_at_the_application():
    environ = server_environ(FakeECB(path="/CAFÉ/x", app_path="/café"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/CAFÉ".encode().decode("latin-1"), "/x")


def test_a_map_to_a_script_makes_the_script_itself_script_name_for_its_own_url():
    ecb = FakeECB(path="/app/s.py", app_path="/app", script_name="/app/s.py")
    environ = server_environ(ecb, wildcard=False)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app/s.py", "")


@pytest.mark.parametrize(("appl_md_path", "root"), [("/LM/W3SVC/1/ROOT", ""), ("/LM/W3SVC/1/Root/app/", "/app")])
def test_application_root_comes_from_appl_md_path(appl_md_path, root):
    assert application_root(appl_md_path) == root


def test_split_path_adds_up_to_the_request_path():
    assert "".join(split_path("/x/y", "/x/y", "/x")) == "/x/y"


def test_split_path_matches_the_application_root_without_regard_to_case():
    assert split_path("/X/y", "/X/y", "/x") == ("/X", "/y")


def test_split_path_of_a_script_map_keeps_the_script_for_its_own_url():
    assert split_path("/x/s.py", "/x/s.py", "/x", wildcard=False) == ("/x/s.py", "")


def test_method_and_query_string():
    environ = server_environ(FakeECB("PUT", "/", "a=1&b=2"))
    assert (environ["REQUEST_METHOD"], environ["QUERY_STRING"]) == ("PUT", "a=1&b=2")


def test_request_headers_become_http_keys():
    environ = server_environ(FakeECB(headers=[("Accept-Language", "fr"), ("X-A", "1")]))
    assert (environ["HTTP_ACCEPT_LANGUAGE"], environ["HTTP_X_A"], environ["HTTP_HOST"]) == ("fr", "1", "localhost")


@pytest.mark.parametrize(
    ("headers", "seen"),
    [
        ([("X-Remote-User", "alice"), ("X_Remote_User", "admin")], "alice"),
        ([("X_Remote_User", "admin"), ("X-Remote-User", "alice")], "alice"),
        ([("X_Remote_User", "admin")], None),
    ],
    ids=["dashed-first", "underscored-first", "underscored-alone"],
)
def test_a_header_named_with_underscores_never_passes_for_the_dashed_one(headers, seen):
    # ALL_HTTP names both HTTP_X_REMOTE_USER: a front end that sets or strips X-Remote-User
    # would be overridden by a client's X_Remote_User. Dropped, as gunicorn, Apache and nginx do.
    environ = server_environ(FakeECB(headers=[*headers, ("X_Other", "1"), ("Accept", "a_b")]))
    assert environ.get("HTTP_X_REMOTE_USER") == seen
    assert "HTTP_X_OTHER" not in environ and environ["HTTP_ACCEPT"] == "a_b"


def test_content_type_and_length_are_cgi_keys_only():
    environ = server_environ(FakeECB("POST", headers=[("Content-Type", "text/plain")], body=b"abc"))
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("text/plain", "3")
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ


def test_chunked_body_has_no_content_length():
    assert "CONTENT_LENGTH" not in server_environ(FakeECB("POST", body=b"abc", chunked=True))


def test_server_name_port_and_protocol():
    environ = server_environ(FakeECB(server_name="example.org", server_port=8080))
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"], environ["SERVER_PROTOCOL"]) == ("example.org", "8080", "HTTP/1.1")


@pytest.mark.parametrize(("https", "scheme"), [(True, "https"), (False, "http")])
def test_url_scheme_follows_https(https, scheme):
    assert server_environ(FakeECB(https=https))["wsgi.url_scheme"] == scheme


def test_remote_user_only_when_authenticated():
    assert "REMOTE_USER" not in server_environ(FakeECB())
    assert server_environ(FakeECB(variables={"REMOTE_USER": "DOMAIN\\ann"}))["REMOTE_USER"] == "DOMAIN\\ann"


def test_environ_carries_the_ecb():
    ecb = FakeECB()
    assert server_environ(ecb)["isapi.ecb"] is ecb


def test_filter_environ_is_built_only_when_read():
    from dualfilter.isapi.environ import ServerEnviron

    ecb = FakeECB("HEAD", "/lazy")
    environ = ServerEnviron(ecb)
    assert environ.get("REQUEST_METHOD") == "HEAD" and environ._data is None
    assert environ["PATH_INFO"] == "/lazy" and dict(environ) == server_environ(ecb)
