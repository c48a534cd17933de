"""Filter options: keyword overrides, validation and Paste Deploy conversion."""

from __future__ import annotations

import typing
from typing import Union

import pytest

from dualfilter import Filter
from dualfilter.options import convert, convert_options, option_names
from dualfilter.testing import run_filter
from tests.support.filters import Upper


class Tagged(Filter):
    """A filter with options of its own."""

    tag: str = "x"
    limit: int = 3
    enabled: bool = True
    names: tuple[str, ...] = ("a",)

    def filter(self, environ, headers, data):
        return data


def test_a_builtin_option_is_overridden_per_instance():
    flt = Upper(filter_all_status=True)
    assert flt.filter_all_status is True
    assert Upper.filter_all_status is False


def test_a_subclass_option_is_overridden_per_instance():
    assert Tagged(tag="y").tag == "y"


def test_an_unknown_keyword_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="'colour'"):
        Upper(colour="red")


def test_methods_are_not_options():
    assert "filter" not in option_names(Tagged)
    assert "should_filter" not in option_names(Tagged)
    assert {"tag", "limit", "filter_content_types"} <= option_names(Tagged)


def test_a_subclass_init_calling_super_keeps_its_own_arguments():
    class WithInit(Filter):
        def __init__(self, app=None, *, prefix="/", **kw):
            self.prefix = prefix
            super().__init__(app, **kw)

        def filter(self, environ, headers, data):
            return data

    flt = WithInit(prefix="/p", decode_unicode=True)
    assert (flt.prefix, flt.decode_unicode) == ("/p", True)


@pytest.mark.parametrize("option, value", [("decode_unicode", True), ("filter_content_types", ("text/plain",)), ("debug", True)])
def test_an_option_set_on_a_built_filter_is_refused_saying_where_options_go(option, value):
    flt = Upper()
    expected = rf"Upper\.{option} is read when the filter is built: pass it there \(Upper\({option}="
    with pytest.raises(AttributeError, match=expected):
        setattr(flt, option, value)
    assert getattr(flt, option) == getattr(Upper, option)  # unchanged: what the filter reads is what it says


def test_a_builtin_filters_own_option_set_after_it_is_built_is_refused():
    from dualfilter.filters import Replace

    flt = Replace(pattern="cat", repl="dog")
    with pytest.raises(AttributeError, match=r"Replace\.pattern is read when the filter is built"):
        flt.pattern = "dog"
    assert run_filter(flt, b"a cat", content_type="text/plain")[2] == b"a dog"


def test_a_subclass_may_change_its_own_options_and_attributes_on_a_built_filter():
    flt = Tagged()
    flt.tag, flt.limit = "y", 4  # read by its own code as it runs: plain attributes
    flt.seen = 1
    assert (flt.tag, flt.limit, flt.seen) == ("y", 4, 1)


def test_a_subclass_init_may_set_options_before_calling_super():
    class Texts(Filter):
        def __init__(self, app=None, **kw):
            self.decode_unicode = True
            super().__init__(app, **kw)

        def filter(self, environ, headers, data):
            return data.upper()

    assert run_filter(Texts(), "é".encode(), content_type="text/html; charset=utf-8")[2] == "É".encode()


def test_a_single_content_type_string_becomes_a_tuple():
    assert Upper(filter_content_types="text/plain").filter_content_types == ("text/plain",)


def test_an_unknown_format_name_fails_at_construction():
    with pytest.raises(LookupError, match="no format named 'yaml'"):
        Upper(format="yaml")


def test_an_unknown_format_output_fails_at_construction():
    with pytest.raises(ValueError, match="format_output"):
        Upper(format_output="pandas.DataFrame")


def test_an_invalid_oversize_policy_fails_at_construction():
    with pytest.raises(ValueError, match="oversize"):
        Upper(oversize="explode")


@pytest.mark.parametrize(
    ("option", "value"),
    [("unicode_errors", "no-such-handler"), ("output_encoding", "no-such-charset"), ("thread_threshold", -1)],
)
def test_an_option_no_response_could_use_fails_at_construction(option, value):
    with pytest.raises(ValueError, match=option):
        Upper(**{option: value})


@pytest.mark.parametrize("text", ["none", "None", ""])
def test_an_option_that_may_be_none_is_none_in_an_ini_file(text):
    assert convert_options(Upper, {"thread_threshold": text}) == {"thread_threshold": None}


class Annotated(Upper):
    limit: int | None = None
    ratio: float = 1
    names: tuple[str, ...] = ()


def test_an_ini_string_becomes_the_type_the_options_annotation_names():
    # Not the default's type: a None default says nothing, an int default of a float option misleads.
    converted = convert_options(Annotated, {"limit": "5", "ratio": "0.5", "names": "a, b"})
    assert converted == {"limit": 5, "ratio": 0.5, "names": ("a", "b")}


def test_annotations_that_are_objects_not_text_convert_alike():
    # A module without "from __future__ import annotations" keeps typing objects, not strings.
    import typing

    namespace = {
        "__annotations__": {
            "limit": typing.Optional[int],  # noqa: UP045 - the spelling under test
            "ratio": typing.Union[float, None],  # noqa: UP007 - the spelling under test
            "count": int | None,
            "names": tuple[str, ...],
        },
        "limit": None,
        "ratio": None,
        "count": None,
        "names": (),
    }
    Objects = type("Objects", (Upper,), namespace)
    converted = convert_options(Objects, {"limit": "5", "ratio": "0.5", "count": "7", "names": "a, b"})
    assert converted == {"limit": 5, "ratio": 0.5, "count": 7, "names": ("a", "b")}


def test_none_is_not_a_value_for_an_option_that_cannot_be_none():
    with pytest.raises(ValueError, match="max_buffer_size"):
        convert_options(Upper, {"max_buffer_size": "none"})


@pytest.mark.parametrize("handler", ["xmlcharrefreplace", "namereplace", "no-such-handler"])
def test_a_unicode_errors_handler_that_cannot_decode_is_refused_at_construction(handler):
    # xmlcharrefreplace and namereplace only encode: every page with a stray byte would be a 500.
    with pytest.raises(ValueError, match="unicode_errors"):
        Upper(unicode_errors=handler)


@pytest.mark.parametrize("handler", ["strict", "replace", "ignore", "backslashreplace", "surrogateescape"])
def test_a_unicode_errors_handler_that_decodes_is_taken(handler):
    assert Upper(unicode_errors=handler).unicode_errors == handler


def test_an_async_stream_is_refused_at_construction():
    class AsyncStream(Filter):
        async def stream(self, environ, headers):
            return None

    with pytest.raises(TypeError, match="async def"):
        AsyncStream()


@pytest.mark.parametrize("hook", ["should_filter_request", "should_filter"])
def test_an_async_predicate_is_refused_at_construction(hook):
    # Its coroutine, never awaited, is truthy: every request would be filtered, silently.
    async def predicate(self, *args):
        return False

    AsyncHook = type("AsyncHook", (Upper,), {hook: predicate})
    with pytest.raises(TypeError, match=f"AsyncHook.{hook}\\(\\) is async def"):
        AsyncHook()


@pytest.mark.parametrize(
    ("default", "text", "expected"),
    [
        (False, "true", True),
        (True, "Off", False),
        (3, "42", 42),
        (1.5, "2.5", 2.5),
        (("a",), "text/html, text/plain  application/xml", ("text/html", "text/plain", "application/xml")),
        (None, "lxml_html", "lxml_html"),
        (None, "none", None),
        ("s", "kept as is", "kept as is"),
    ],
)
def test_ini_strings_convert_to_the_type_of_the_class_attribute(default, text, expected):
    assert convert(default, text) == expected


def test_a_bad_ini_boolean_is_a_clear_error():
    with pytest.raises(ValueError, match="not a boolean"):
        convert(True, "perhaps")


def test_paste_deploy_options_are_converted_before_the_filter_sees_them(monkeypatch):
    seen = {}

    def fake_wrap(flt, app, host=None):
        seen.update(host=host, flt=flt)
        return app

    monkeypatch.setattr("dualfilter.hosts.wrap", fake_wrap)
    Tagged.paste_deploy_middleware(object(), {}, limit="7", enabled="no", names="b c")
    flt = seen["flt"]
    assert (seen["host"], flt.limit, flt.enabled, flt.names) == ("wsgi", 7, False, ("b", "c"))


def test_paste_deploy_rejects_an_unknown_option():
    with pytest.raises(TypeError, match="'nope'"):
        Tagged.paste_deploy_middleware(object(), {}, nope="1")


def test_wrapping_with_a_configured_instance_keeps_its_options(monkeypatch):
    seen = {}
    monkeypatch.setattr("dualfilter.hosts.wrap", lambda flt, app, host=None: seen.update(flt=flt, host=host))
    configured = Tagged(tag="kept")
    configured.asgi(object())
    assert seen["flt"] is configured and seen["host"] == "asgi"


def test_wrapping_with_a_class_builds_the_filter_from_keywords(monkeypatch):
    seen = {}
    monkeypatch.setattr("dualfilter.hosts.wrap", lambda flt, app, host=None: seen.update(flt=flt, host=host))
    Tagged.wsgi(object(), tag="new")
    assert (seen["flt"].tag, seen["host"]) == ("new", "wsgi")


def test_options_given_to_an_instances_wrapper_are_refused():
    with pytest.raises(TypeError, match="options go to the constructor"):
        Tagged(tag="x").wsgi(object(), tag="y")


@pytest.mark.parametrize("option", ["debug", "decode_unicode", "filter_all_status", "force_no_conditional"])
def test_a_switch_given_anything_but_true_or_false_fails_at_construction(option):
    # "false" from an environment variable would otherwise switch it on (debug: tracebacks to clients).
    with pytest.raises(TypeError, match=option):
        Upper(**{option: "false"})


@pytest.mark.parametrize("value", [b"text/html", ["text/html", 5], 5])
def test_content_types_that_are_not_text_fail_at_construction_naming_the_option(value):
    with pytest.raises(TypeError, match="filter_content_types"):
        Upper(filter_content_types=value)


def test_an_output_encoding_given_as_bytes_fails_at_construction_naming_the_option():
    with pytest.raises(ValueError, match="output_encoding"):
        Upper(output_encoding=b"utf-8")


@pytest.mark.parametrize("value", [True, False, 0, -5, 1.5, "1024"])
def test_a_max_buffer_size_that_is_no_positive_int_fails_at_construction(value):
    # True is an int to Python, but no size: it would be a limit of one byte.
    with pytest.raises(ValueError, match="max_buffer_size"):
        Upper(max_buffer_size=value)


def test_content_types_given_as_a_generator_are_read_once_and_kept():
    flt = Upper(filter_content_types=(kind for kind in ["text/html", "text/plain"]))
    assert flt.filter_content_types == ("text/html", "text/plain")
    assert flt.accepts(200, "text/plain")


@pytest.mark.parametrize(("option", "value"), [("format", ["json"]), ("format", 5), ("format_output", ["python"])])
def test_a_format_option_of_the_wrong_type_fails_at_construction_naming_the_option(option, value):
    with pytest.raises(TypeError, match=option):
        Upper(**{option: value})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("text/html; charset=utf-8", ("text/html",)),
        ("TEXT/HTML", ("text/html",)),
        ("text/html, text/plain", ("text/html", "text/plain")),
        (["text/*", "*/*+xml", "application/*+json"], ("text/*", "*/*+xml", "application/*+json")),
    ],
)
def test_content_type_patterns_are_read_as_the_media_types_they_name(given, expected):
    # Parameters are ignored in matching: a pattern with them names its type.
    assert Upper(filter_content_types=given)._content_types == expected


@pytest.mark.parametrize("pattern", ["html", "", "text/", "/html", "text html"])
def test_a_content_type_pattern_that_could_match_nothing_fails_at_construction_naming_the_option(pattern):
    with pytest.raises(ValueError, match="filter_content_types"):
        Upper(filter_content_types=[pattern])


def test_an_option_annotated_with_one_simple_type_holds_to_it_in_a_subclass_too():
    class Banner(Filter):
        text: str = "hi"
        times: int = 1
        loud: bool = False
        note: str | None = None

        def filter(self, environ, headers, data):
            return data

    for options, message in [
        ({"text": b"hi"}, "text must be a str"),
        ({"times": "2"}, "times must be an int"),
        ({"loud": "false"}, "loud must be True or False"),
        ({"note": 5}, "note must be a str or None"),
    ]:
        with pytest.raises(TypeError, match=message):
            Banner(**options)
    assert Banner(note=None, times=2, loud=True).times == 2


def test_an_int_option_takes_any_int_but_a_bool():
    import re
    from http import HTTPStatus

    class Search(Filter):
        flags: int = re.IGNORECASE
        ratio: float = 1

        def filter(self, environ, headers, data):
            return data

    assert Search(flags=HTTPStatus.OK).flags == 200 and Search(ratio=2).ratio == 2
    with pytest.raises(TypeError, match="flags must be an int"):
        Search(flags=True)


def test_union_annotations_as_text_convert_ini_strings():
    from dualfilter.options import convert_options

    class Limited(Filter):
        limit: Union[int, None] = None  # noqa: UP007 - kept as this text (`from __future__ import annotations`)
        other: typing.Optional[int] = None  # noqa: UP045

        def filter(self, environ, headers, data):
            return data

    assert convert_options(Limited, {"limit": "5", "other": "none"}) == {"limit": 5, "other": None}


def test_a_collections_items_convert_by_its_annotation_from_ini_and_spec_strings():
    # ports = 80 443 in an ini file: (80, 443), not ('80', '443'), which 80 in ports would miss.
    class Ports(Filter):
        ports: tuple[int, ...] = (80,)
        ratios: frozenset[float] | None = None
        flags: list[bool] = []
        names: tuple[str, ...] = ()

        def filter(self, environ, headers, data):
            return data

    class Objects(Filter):  # annotations as objects, not text
        pass

    Objects.__annotations__ = {"ports": tuple[int, ...]}
    Objects.ports = (80,)
    converted = convert_options(Ports, {"ports": "80, 443", "ratios": "0.5 1", "flags": "yes off", "names": "a b"})
    assert converted == {"ports": (80, 443), "ratios": frozenset({0.5, 1.0}), "flags": [True, False], "names": ("a", "b")}
    assert convert_options(Objects, {"ports": "8080"}) == {"ports": (8080,)}
    with pytest.raises(ValueError, match="option 'ports'"):
        convert_options(Ports, {"ports": "80 http"})
