"""DUALFILTER_FILTERS: read once when Django builds the middleware; SPECs and instances, first filters first."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.test.utils import override_settings
from django_middleware_project import PAGE, Append, Upper, project, spec

from dualfilter.cli.apply import apply_filters
from dualfilter.cli.common import load_filters
from dualfilter.django import FilterMiddleware


def never_called(request):
    raise AssertionError("the view was called")


def test_a_missing_setting_makes_django_leave_the_middleware_out():
    with project(None):
        with pytest.raises(MiddlewareNotUsed):
            FilterMiddleware(never_called)
        assert Client().get("/html/").content == PAGE.encode()


def test_an_empty_setting_makes_django_leave_the_middleware_out():
    with project([]):
        with pytest.raises(MiddlewareNotUsed):
            FilterMiddleware(never_called)
        assert Client().get("/html/").content == PAGE.encode()


def test_a_bad_spec_raises_improperly_configured_when_django_builds_the_middleware():
    with project(["replace?patern=a"]):
        with pytest.raises(ImproperlyConfigured, match="replace: unknown option 'patern'; did you mean 'pattern'"):
            WSGIHandler()


def test_a_spec_naming_no_filter_raises_improperly_configured():
    with project(["no_such_module_here:Nothing"]):
        with pytest.raises(ImproperlyConfigured, match="cannot import module 'no_such_module_here'"):
            WSGIHandler()


def test_a_string_instead_of_a_list_raises_improperly_configured():
    with project("replace?pattern=a"):
        with pytest.raises(ImproperlyConfigured, match="must be a list"):
            WSGIHandler()


def test_an_entry_that_is_neither_spec_nor_filter_raises_improperly_configured():
    with project([Upper]):  # the class, not an instance
        with pytest.raises(ImproperlyConfigured, match="neither a filter SPEC nor a Filter instance"):
            WSGIHandler()


def test_a_builtin_spec_filters_the_page():
    with project(["replace?pattern=hello&repl=goodbye"]):
        assert b"goodbye from django" in Client().get("/html/").content


def test_a_filter_instance_is_used_as_configured():
    with project([Append(text="!")]):
        assert Client().get("/html/").content == PAGE.encode() + b"!"


def test_the_first_entry_filters_first():
    with project([spec("Append", "text=A"), Append(text="B")]):
        response = Client().get("/html/")
    assert response.content == PAGE.encode() + b"AB"
    assert response["X-Order"] == "AB"


def test_entries_apply_as_repeated_filter_options_of_dualfilter_apply():
    specs = [spec("Append", "text=A"), spec("Upper"), spec("Append", "text=b")]
    expected = apply_filters(load_filters(specs), PAGE.encode(), headers=[("Content-Type", "text/html; charset=utf-8")])
    with project(specs):
        response = Client().get("/html/")
    assert response.content == expected.body == PAGE.upper().encode() + b"Ab"


def test_the_setting_is_read_once_when_the_handler_is_built():
    with project([spec("Upper")]):
        client = Client()
        assert client.get("/html/").content == PAGE.upper().encode()
        with override_settings(DUALFILTER_FILTERS=[spec("Append", "text=!")]):
            assert client.get("/html/").content == PAGE.upper().encode()


class Boom(Upper):
    def filter(self, environ, headers, data):
        raise RuntimeError("boom SECRET")


class Forgot(Upper):
    def __init__(self):  # no super().__init__(): never configured
        pass


@pytest.mark.parametrize("client_class", ["sync", "async"])
async def test_entries_whose_options_differ_run_in_turn_as_repeated_filter_options(client_class):
    # One entry's oversize=pass must not turn into a 502 for the whole page (a chain
    # applies one max_buffer_size and oversize to all its stages), and one entry's debug
    # must not show another's traceback: they run as nested middlewares, as `apply -f -f`.
    from django.test import AsyncClient

    small = spec("Append", "text=!&max_buffer_size=10&oversize=pass")
    cases = [
        ([small, spec("Append", "text=?")], 200, PAGE.encode() + b"?"),  # too big for the first: passes, then filtered
        ([Boom(), Append(text="!", debug=True)], 500, b"Internal Server Error\n"),
    ]
    for entries, status, content in cases:
        with project(entries):
            if client_class == "sync":
                response = Client().get("/html/")
            else:
                response = await AsyncClient().get("/html/")
        assert (response.status_code, response.content) == (status, content)
    specs = [small, spec("Append", "text=?")]
    expected = apply_filters(load_filters(specs), PAGE.encode(), headers=[("Content-Type", "text/html; charset=utf-8")])
    assert expected.body == PAGE.encode() + b"?"


def test_entries_whose_options_agree_still_share_one_layer():
    from dualfilter.chain import Chain
    from dualfilter.django import layers_from_settings

    with project([spec("Append", "text=A"), spec("Upper"), spec("Append", "text=b&debug=true"), spec("Upper", "debug=true")]):
        layers = layers_from_settings()
    assert len(layers) == 2 and all(isinstance(layer, Chain) for layer in layers)


def test_a_filter_instance_that_is_not_configured_is_refused_when_django_builds_the_middleware():
    for entries in ([Forgot()], [Forgot(), spec("Upper")]):
        with project(entries):
            with pytest.raises(ImproperlyConfigured, match="Forgot is not configured"):
                WSGIHandler()
