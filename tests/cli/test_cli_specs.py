"""SPEC strings: a filter name or module:Class, with ?key=value options converted like ini options."""

from __future__ import annotations

import textwrap

import pytest

from dualfilter import specs
from dualfilter.filters import XSLT, Inject, Replace, RewriteLinks


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """An importable module, written to a temporary directory."""

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        return name

    return write


@pytest.mark.parametrize(
    ("name", "cls"), [("inject", Inject), ("replace", Replace), ("rewrite-links", RewriteLinks), ("xslt", XSLT)]
)
def test_built_in_names_give_the_built_in_filters(name, cls):
    assert specs.filter_class(name) is cls


def test_built_in_names_accept_underscores_for_hyphens():
    assert specs.filter_class("rewrite_links") is RewriteLinks


def test_options_are_converted_to_the_type_of_their_attribute():
    spec = specs.parse("replace?pattern=a&count=3&regex=yes&filter_content_types=text/plain,text/csv")
    assert spec.options == {"pattern": "a", "count": 3, "regex": True, "filter_content_types": ("text/plain", "text/csv")}


def test_load_gives_a_configured_instance():
    flt = specs.load("replace?pattern=hi&repl=HO")
    assert isinstance(flt, Replace)
    assert (flt.pattern, flt.repl) == ("hi", "HO")


def test_values_are_percent_decoded_but_plus_stays_plus():
    assert specs.parse("replace?pattern=a%26b%3D+c").options["pattern"] == "a&b=+c"


def test_only_the_first_question_mark_starts_the_options():
    assert specs.parse(r"replace?pattern=colou?r&regex").options["pattern"] == "colou?r"


def test_a_key_without_value_sets_a_boolean_option_to_true():
    assert specs.parse("replace?pattern=a&ignore_case").options["ignore_case"] is True


def test_a_key_without_value_for_a_non_boolean_option_is_an_error():
    with pytest.raises(specs.SpecError, match="option 'count' needs a value"):
        specs.parse("replace?pattern=a&count")


def test_hyphens_in_keys_read_as_underscores():
    assert specs.parse("replace?pattern=a&ignore-case=1").options["ignore_case"] is True


def test_an_empty_value_is_an_empty_string():
    assert specs.parse("replace?pattern=a&repl=").options["repl"] == ""


def test_an_unknown_option_is_named_with_a_suggestion():
    with pytest.raises(specs.SpecError, match=r"^replace: unknown option 'patern'; did you mean 'pattern'\?$"):
        specs.parse("replace?patern=a")


def test_an_option_given_twice_is_an_error():
    with pytest.raises(specs.SpecError, match="option 'pattern' given twice"):
        specs.parse("replace?pattern=a&pattern=b")


def test_a_value_of_the_wrong_type_names_the_option():
    with pytest.raises(specs.SpecError, match="replace: option 'count'"):
        specs.parse("replace?pattern=a&count=many")


def test_an_unknown_filter_name_lists_the_built_in_ones():
    with pytest.raises(specs.SpecError, match="unknown filter 'gzip': use one of inject, replace, rewrite-links, xslt"):
        specs.parse("gzip")


def test_an_empty_name_is_an_error():
    with pytest.raises(specs.SpecError, match="empty filter name"):
        specs.parse("?pattern=a")


def test_module_colon_class_names_a_user_filter(user_module):
    module = user_module(
        "spec_user_filters",
        """
        from dualfilter import Filter

        class Upper(Filter):
            shout: bool = False

            def filter(self, environ, headers, data):
                return data.upper()
        """,
    )
    spec = specs.parse(f"{module}:Upper?shout=on")
    assert spec.cls.__name__ == "Upper"
    assert spec.options == {"shout": True}


def test_the_class_may_be_a_dotted_attribute(user_module):
    module = user_module(
        "spec_nested_filters",
        """
        from dualfilter import Filter

        class Outer:
            class Inner(Filter):
                pass
        """,
    )
    assert specs.filter_class(f"{module}:Outer.Inner").__qualname__ == "Outer.Inner"


def test_a_missing_module_is_named():
    with pytest.raises(specs.SpecError, match="cannot import module 'no_such_module_xyz'"):
        specs.parse("no_such_module_xyz:Filter")


def test_a_module_that_fails_to_import_is_reported_in_one_line(user_module):
    module = user_module("spec_broken_module", "raise RuntimeError('broken on purpose')\n")
    with pytest.raises(specs.SpecError, match="cannot import module 'spec_broken_module': RuntimeError: broken on purpose"):
        specs.parse(f"{module}:X")


def test_a_missing_class_is_named():
    with pytest.raises(specs.SpecError, match="'dualfilter.filters' has no attribute 'Gzip'"):
        specs.parse("dualfilter.filters:Gzip")


def test_a_class_that_is_not_a_filter_is_refused():
    with pytest.raises(specs.SpecError, match="collections:OrderedDict is not a dualfilter.Filter subclass"):
        specs.parse("collections:OrderedDict")


def test_errors_building_the_filter_are_prefixed_with_the_filter_name(tmp_path):
    with pytest.raises(specs.SpecError, match=r"^xslt: cannot read stylesheet"):
        specs.load(f"xslt?stylesheet={tmp_path / 'missing.xsl'}")
