"""The IIS page (docs/iis.md) works: its scripts serve through the fake IIS, and their install
sections build pywin32's ``isapi.install`` parameters as documented."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import fake_isapi_install
import pytest

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import FilterHost, raw_response

DOC = Path(__file__).resolve().parents[2] / "docs" / "iis.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def script(name: str) -> str:
    """The doc's code block that starts with the comment ``# <name> --``."""
    return next(block for block in python_blocks() if block.startswith(f"# {name} --"))


@pytest.fixture
def fake_install(monkeypatch):
    for name, module in fake_isapi_install.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    fake_isapi_install.calls.clear()
    return fake_isapi_install.calls


def install(tmp_path, name: str, fake_install) -> object:
    """Run the doc's ``name`` script as ``python name install`` does; the params it installs."""
    path = tmp_path / name
    path.write_text(script(name))
    runpy.run_path(str(path), run_name="__main__")
    assert len(fake_install) == 1
    return fake_install[0][0]


def test_extension_script_defines_the_extension_factory_and_an_installer():
    text = script("upper_site.py")
    assert "def __ExtensionFactory__():" in text and "HandleCommandLine(params)" in text


def test_extension_install_maps_every_url_of_a_virtual_directory(tmp_path, fake_install):
    params = install(tmp_path, "upper_site.py", fake_install)
    (site,) = params.VirtualDirs
    (script_map,) = site.ScriptMaps
    assert (site.Name, site.ScriptMapUpdate, script_map.Extension, script_map.Flags) == ("upper", "replace", "*", 0)
    assert params.Filters == [] and script_map.Module is None  # pywin32 fills in the loader DLL


def test_filter_install_registers_a_filter(tmp_path, fake_install):
    params = install(tmp_path, "staging_banner.py", fake_install)
    (flt,) = params.Filters
    assert (flt.Name, flt.Description, flt.Path) == ("StagingBanner", "Staging banner on every page", None)
    assert params.VirtualDirs == []


def test_a_misspelt_parameter_fails_with_the_fake(fake_install):
    with pytest.raises(TypeError):
        fake_isapi_install.VirtualDirParameters(name="lowercase")


def test_extension_factory_gives_a_wsgi_extension(tmp_path, monkeypatch):
    (tmp_path / "upper_site.py").write_text(script("upper_site.py"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import upper_site

        assert isinstance(upper_site.__ExtensionFactory__(), WSGIExtension)
    finally:
        sys.modules.pop("upper_site", None)


def test_filter_factory_filters_a_site(tmp_path, monkeypatch):
    (tmp_path / "staging_banner.py").write_text(script("staging_banner.py"))
    monkeypatch.syspath_prepend(str(tmp_path))
    page = b"<html><body>Hi</body></html>"
    raw = raw_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(page)))], [page])
    try:
        import staging_banner

        with FilterHost(staging_banner) as iis:
            response = iis.request(response=raw)
            description = iis.version.FilterDesc
    finally:
        sys.modules.pop("staging_banner", None)
    assert response.body == b'<html><body><p class="banner">Staging</p>Hi</body></html>' and description == b"Staging banner"


def test_recipe_runs_as_documented(tmp_path, monkeypatch):
    (tmp_path / "upper_site.py").write_text(script("upper_site.py"))
    usage = next(block for block in python_blocks() if block.startswith("import upper_site"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(usage, str(DOC), "exec"), {})
    finally:
        sys.modules.pop("upper_site", None)
