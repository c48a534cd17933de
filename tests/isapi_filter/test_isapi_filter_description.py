"""A long or non-ASCII description still loads: pywin32 refuses a FilterDesc (or ExtensionDesc) over
IIS's buffer in UTF-8 bytes, so the description is cut by encoded bytes, never inside a character."""

from __future__ import annotations

import pytest
from filter_harness import UpperFilter, html

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import ExtensionHost, FakeFilterVersion, FilterHost


def loaded_description(isapi_filter) -> bytes:
    with FilterHost(isapi_filter) as iis:
        assert iis.request(response=html()).status == 200
        return iis.version.FilterDesc


@pytest.mark.parametrize(
    "description",
    ["é" * 300, "a" + "é" * 300, "\u2603" * 200, "x" * 1000, "🦀" * 100],
    ids=["2-byte", "2-byte-odd", "3-byte", "ascii", "4-byte"],
)
def test_a_long_description_loads_cut_to_whole_characters(description):
    desc = loaded_description(UpperFilter.isapi_filter(description=description))
    text = desc.decode("utf-8")  # raises if a character was cut
    assert 256 - 4 < len(desc) <= 256 and description.startswith(text)


def test_a_description_with_a_nul_loads_without_it():
    assert loaded_description(UpperFilter.isapi_filter(description="a\0b")) == b"ab"


def test_a_non_ascii_description_that_fits_is_kept_whole():
    assert loaded_description(UpperFilter.isapi_filter(description="Filtre à accents")) == "Filtre à accents".encode()


def test_a_description_of_256_characters_would_not_have_fitted():
    """The cut is needed: the same text set as it is is refused (PyFILTER_VERSION::setattro)."""
    with pytest.raises(ValueError):
        FakeFilterVersion().FilterDesc = "é" * 256


@pytest.mark.parametrize("description", ["é" * 300, "x" * 300], ids=["2-byte", "ascii"])
def test_a_wsgi_extension_with_any_description_loads(description):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with ExtensionHost(WSGIExtension(app, workers=0, description=description)) as host:
        assert host.get().body == b"ok"
        assert len(host.version_info.ExtensionDesc) <= 255
