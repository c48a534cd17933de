"""The package as published: its archives, their metadata, and the pages that describe it.

The archives are built once, from a copy of this checkout (building writes
egg-info beside the sources), without build isolation: the backend is the
setuptools the test extra installs.
"""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import dualfilter

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "https://github.com/dualfilter/dualfilter"
RAW = "https://raw.githubusercontent.com/dualfilter/dualfilter"
LEFT_BEHIND = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis", ".benchmarks", ".venv"
)


def _run(*args: str, cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the checkout, as a fresh clone has it."""
    copy = tmp_path_factory.mktemp("checkout") / "dualfilter"
    shutil.copytree(ROOT, copy, ignore=LEFT_BEHIND)
    return copy


@pytest.fixture(scope="module")
def dist(source) -> Path:
    """The sdist and the wheel, built by ``python -m build``."""
    out = source.parent / "dist"
    _run(sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir", str(out), ".", cwd=source)
    return out


@pytest.fixture(scope="module")
def sdist_names(dist) -> set[str]:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        return {name.partition("/")[2] for name in archive.getnames()}


@pytest.fixture(scope="module")
def metadata(dist) -> email.message.Message:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_sdist_carries_the_tests_the_docs_and_the_license(sdist_names):
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", ".ci/run", "dualfilter/py.typed"} <= sdist_names
    assert "tests/test_readme.py" in sdist_names
    assert "tests/ecosystem/test_publishing.py" in sdist_names
    assert {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")} <= sdist_names
    assert not [name for name in sdist_names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_wheel_holds_the_package_and_its_type_marker_only(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "dualfilter/py.typed" in names
    assert {name.split("/")[0] for name in names} == {"dualfilter", f"dualfilter-{dualfilter.__version__}.dist-info"}


def test_twine_finds_nothing_wrong_with_either_archive(dist):
    out = _run(sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir())), cwd=dist)
    assert out.count("PASSED") == 2


def test_the_metadata_says_mit_by_spdx_expression_with_the_license_file(metadata):
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert "dualfilter contributors" in (ROOT / "LICENSE").read_text()


def test_the_metadata_names_authors_urls_and_keywords(metadata):
    assert metadata["Author"] == "dualfilter contributors"
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith(REPOSITORY) for url in urls.values())
    assert {"wsgi", "asgi", "middleware"} <= set(metadata["Keywords"].split(","))


def test_the_classifiers_are_known_to_the_package_index_and_name_the_frameworks(metadata):
    from trove_classifiers import classifiers

    given = metadata.get_all("Classifier")
    assert [c for c in given if c not in classifiers] == []
    for framework in ("Django", "Flask", "FastAPI", "AsyncIO"):
        assert f"Framework :: {framework}" in given
    assert "Topic :: Internet :: WWW/HTTP :: WSGI :: Middleware" in given
    assert "Programming Language :: Python :: 3.10" in given


def test_the_built_version_is_the_packages_version(metadata):
    assert metadata["Version"] == dualfilter.__version__


def test_the_version_is_written_in_one_place():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and not re.search(r"^version = \"", pyproject, re.M)
    written = [p for p in (ROOT / "dualfilter").rglob("*.py") if re.search(r"^__version__ = ", p.read_text(), re.M)]
    assert [p.name for p in written] == ["_version.py"]


def test_the_command_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "dualfilter", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == f"dualfilter {dualfilter.__version__}"


def test_an_editable_install_is_a_plain_path_entry_type_checkers_follow(source, tmp_path):
    from pyproject_hooks import BuildBackendHookCaller, quiet_subprocess_runner

    hooks = BuildBackendHookCaller(str(source), "setuptools.build_meta", runner=quiet_subprocess_runner)
    info = hooks.prepare_metadata_for_build_editable(str(tmp_path))
    wheel = hooks.build_editable(str(tmp_path), metadata_directory=str(tmp_path / info))
    with zipfile.ZipFile(tmp_path / wheel) as archive:
        (pth,) = [n for n in archive.namelist() if n.endswith(".pth")]
        assert archive.read(pth).decode().splitlines() == [str(source)]


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_every_readme_link_is_absolute_so_it_works_on_the_package_index():
    links = _links((ROOT / "README.md").read_text())
    assert links
    assert [link for link in links if not link.startswith("https://")] == []


def test_every_readme_link_into_the_repository_names_a_file_that_exists():
    for link in _links((ROOT / "README.md").read_text()):
        match = re.fullmatch(re.escape(REPOSITORY) + r"/(?:blob|tree)/main/([^#]+)(?:#.*)?", link) or re.fullmatch(
            re.escape(RAW) + r"/main/(.+)", link
        )
        if match:
            assert (ROOT / match[1]).exists(), link


def test_every_install_line_with_extras_is_quoted_for_any_shell():
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    for page in pages:
        for line in page.read_text().splitlines():
            for target in re.findall(r"pip install (?:-e )?(\S*\[\S*)", line):
                assert target[0] in "'\"", f"{page.name}: {line.strip()}"
