"""Server variables as pywin32 really hands them on: IIS counts the terminating NUL in
the size it reports, and pywin32 makes bytes (a str for ``UNICODE_`` names) of that
whole size, so every value ends in ``\\x00``. Neither the environ nor the filter's
request view may carry it on."""

from __future__ import annotations

from typing import Any

from dualfilter.isapi.environ import server_environ, server_variable
from dualfilter.isapi.filter.environ import FilterEnviron, FilterRequest
from dualfilter.isapi.testing import FakeECB


class NulECB(FakeECB):
    """FakeECB whose server variables end in the NUL, as pywin32's do."""

    def GetServerVariable(self, name: str, *default: Any) -> Any:
        value = super().GetServerVariable(name, *default)
        if isinstance(value, bytes):
            return value + b"\x00"
        return value + "\x00" if isinstance(value, str) else value


def _ecb() -> NulECB:
    return NulECB(method="POST", path="/app/café", app_path="/app", query_string="a=1", headers=[("X-Thing", "v")])


def test_the_double_ends_its_values_as_pywin32_does():
    ecb = _ecb()
    assert ecb.GetServerVariable("REQUEST_METHOD") == b"POST\x00"
    assert ecb.GetServerVariable("UNICODE_URL") == "/app/café\x00"
    assert ecb.GetServerVariable("NO_SUCH", None) is None


def test_server_variable_drops_the_terminating_nul_only():
    ecb = _ecb()
    assert server_variable(ecb, "REQUEST_METHOD") == b"POST"
    assert server_variable(ecb, "UNICODE_URL") == "/app/café"
    assert server_variable(ecb, "NO_SUCH") is None
    assert server_variable(FakeECB(method="GET"), "REQUEST_METHOD") == b"GET"  # a value without one stays whole


def test_the_extension_environ_has_no_nul_in_any_value():
    environ = server_environ(_ecb())
    assert environ["REQUEST_METHOD"] == "POST"
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/café".encode().decode("latin-1"))
    assert environ["QUERY_STRING"] == "a=1"
    assert environ["HTTP_X_THING"] == "v"
    assert all("\x00" not in value for value in environ.values() if isinstance(value, str))


def test_the_filter_request_and_environ_have_no_nul():
    request = FilterRequest(_ecb())  # read through GetServerVariable alone, as a filter context is
    assert (request.Method, request.QueryString) == (b"POST", b"a=1")
    assert request.GetServerVariable("URL") == _ecb().GetServerVariable("URL")[:-1]
    assert request.GetServerVariable("NO_SUCH", "none") == "none"
    environ = dict(FilterEnviron(request))
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["HTTP_X_THING"] == "v"
    assert all("\x00" not in value for value in environ.values() if isinstance(value, str))
