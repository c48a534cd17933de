"""A stand-in for pywin32's ``isapi.install`` (Windows-only), to run install scripts on any platform.

The parameter classes have the attributes and defaults pywin32's
``isapi/install.py`` gives them; unlike pywin32 (which takes any keyword and
ignores the ones it does not know), a keyword that is neither one of those
attributes nor an install hook raises TypeError, so a misspelt parameter
fails the test. ``HandleCommandLine`` records its call instead of touching
IIS.
"""

from __future__ import annotations

import types
from typing import Any

HOOKS = frozenset({"PreInstall", "PostInstall", "PreRemove", "PostRemove"})
#: Every HandleCommandLine call: (params, keyword arguments).
calls: list[tuple[Any, dict[str, Any]]] = []


class _Parameters:
    def __init__(self, **kw: Any) -> None:
        for name, value in kw.items():
            if name not in HOOKS and not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)


class FilterParameters(_Parameters):
    Name = None
    Description = None
    Path = None
    Server = None
    AddExtensionFile = True
    AddExtensionFile_Enabled = True
    AddExtensionFile_GroupID = None
    AddExtensionFile_CanDelete = True
    AddExtensionFile_Description = None


class ScriptMapParams(_Parameters):
    Extension = None
    Module = None
    Flags = 5
    Verbs = ""
    AddExtensionFile = True
    AddExtensionFile_Enabled = True
    AddExtensionFile_GroupID = None
    AddExtensionFile_CanDelete = True
    AddExtensionFile_Description = None


class VirtualDirParameters(_Parameters):
    Name = None
    Description = None
    AppProtection = 2
    Headers = "X-Powered-By: Python"
    Path = None
    Type = "IIsWebVirtualDir"
    AccessExecute = True
    AccessRead = False
    AccessWrite = False
    AccessScript = False
    ContentIndexed = False
    EnableDirBrowsing = False
    EnableDefaultDoc = False
    DefaultDoc = None
    ScriptMaps: list[ScriptMapParams] = []
    ScriptMapUpdate = "end"
    Server = None


class ISAPIParameters(_Parameters):
    ServerName = "Default Web Site"
    Filters: list[FilterParameters] = []
    VirtualDirs: list[VirtualDirParameters] = []


def HandleCommandLine(
    params: ISAPIParameters,
    argv: list[str] | None = None,
    conf_module_name: str | None = None,
    default_arg: str = "install",
    opt_parser: Any = None,
    custom_arg_handlers: dict[str, Any] | None = None,
) -> None:
    if not isinstance(params, ISAPIParameters):
        raise TypeError("HandleCommandLine takes an ISAPIParameters")
    calls.append((params, {"argv": argv, "conf_module_name": conf_module_name, "default_arg": default_arg}))


def modules() -> dict[str, types.ModuleType]:
    """``isapi`` and ``isapi.install`` modules to put in ``sys.modules``."""
    install = types.ModuleType("isapi.install")
    for name in ("ISAPIParameters", "VirtualDirParameters", "ScriptMapParams", "FilterParameters", "HandleCommandLine"):
        setattr(install, name, globals()[name])
    package = types.ModuleType("isapi")
    package.__path__ = []  # a package, so "from isapi.install import ..." works
    package.install = install  # type: ignore[attr-defined]
    return {"isapi": package, "isapi.install": install}
