"""Hosting an extension as IIS does: :func:`call_extension` and :class:`ExtensionHost`."""

from __future__ import annotations

from typing import Any

from .ecb import ClientResponse, FakeECB
from .version import FakeVersionInfo

__all__ = ["call_extension", "ExtensionHost"]

HSE_TERM_MUST_UNLOAD = 2


def call_extension(extension: Any, ecb: FakeECB, *, timeout: float | None = 5.0, raise_errors: bool = True) -> ClientResponse:
    """Call ``extension.HttpExtensionProc(ecb)`` as IIS does and return what the client got.

    For ``HSE_STATUS_PENDING`` this waits (up to ``timeout`` seconds) for
    ``DoneWithSession``. An exception from the extension ends the request with
    HSE_STATUS_ERROR, as pywin32 does, and is re-raised if ``raise_errors``.
    """
    try:
        result = extension.HttpExtensionProc(ecb)
    except Exception as exc:
        ecb.extension_returned(None, exc)
        if raise_errors:
            raise
        return ecb.response
    ecb.extension_returned(result)
    return ecb.wait(timeout)


class ExtensionHost:
    """Loads an extension as pywin32's DLL does, serves requests to it, and unloads it.

    ``extension`` is an extension object, or a module (or any object) with an
    ``__ExtensionFactory__`` function, as an IIS script defines. Use as a
    context manager: ``GetExtensionVersion`` on entry, ``TerminateExtension``
    on exit.
    """

    def __init__(self, extension: Any) -> None:
        if not hasattr(extension, "HttpExtensionProc"):
            extension = extension.__ExtensionFactory__()
        self.extension = extension
        self.version_info = FakeVersionInfo()

    def __enter__(self) -> ExtensionHost:
        result = self.extension.GetExtensionVersion(self.version_info)
        if result is not None and (not isinstance(result, int) or not result):
            # pywin32 (pyISAPI.cpp) loads on None or a true int; anything else is refused.
            raise RuntimeError(f"{self.extension!r}.GetExtensionVersion refused to load (it returned {result!r})")
        return self

    def __exit__(self, *exc: object) -> None:
        self.extension.TerminateExtension(HSE_TERM_MUST_UNLOAD)

    def request(self, method: str = "GET", path: str = "/", *, timeout: float | None = 5.0, **options: Any) -> ClientResponse:
        """Send one request (``FakeECB`` arguments) and return what the client got."""
        return call_extension(self.extension, FakeECB(method, path, **options), timeout=timeout)

    def get(self, path: str = "/", **options: Any) -> ClientResponse:
        """A GET request."""
        return self.request("GET", path, **options)
