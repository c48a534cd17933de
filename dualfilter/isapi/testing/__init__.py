"""Run ISAPI extensions and filters without IIS: doubles of pywin32's C++ objects, and hosts that drive them as IIS does.

pywin32 and IIS exist only on Windows; these doubles let an extension, a
filtered extension, ``WSGIExtension`` or an ISAPI filter be tested on any CI.
They hold to what pywin32's objects do (see ``docs/iis.md``), one module each:

- :mod:`.request`: :class:`Request`, the request a test sends (method, path,
  headers, body, chunked or not, ...), and the server variables IIS derives;
- :mod:`.ecb`: :class:`FakeECB`, the EXTENSION_CONTROL_BLOCK, and
  :class:`ClientResponse`, what the client received;
- :mod:`.extension_host`: :func:`call_extension` and :class:`ExtensionHost`;
- :mod:`.version`: :class:`FakeVersionInfo` and :class:`FakeFilterVersion`;
- :mod:`.filter_context`: :class:`FakeFilterContext` and what its
  ``GetData()`` returns (:class:`FakeRawData`, :class:`FakePreprocHeaders`);
- :mod:`.filter_host`: :class:`FilterHost`, :class:`FakeConnection`,
  :class:`FilterResponse`, :func:`raw_response` and :func:`extension_site`;
- :mod:`.args`: the argument formats and signed members of pywin32's objects.
"""

from __future__ import annotations

from ..errors import ExtensionError, FilterError
from .ecb import ClientResponse, FakeECB
from .extension_host import ExtensionHost, call_extension
from .filter_context import FakeFilterContext, FakePreprocHeaders, FakeRawData
from .filter_host import FakeConnection, FilterHost, FilterResponse, Notification, extension_site, raw_response
from .request import Request
from .version import FakeFilterVersion, FakeVersionInfo

__all__ = [
    "Request",
    "FakeECB",
    "FakeVersionInfo",
    "ClientResponse",
    "ExtensionHost",
    "ExtensionError",
    "call_extension",
    "FakeFilterVersion",
    "FakeFilterContext",
    "FakeRawData",
    "FakePreprocHeaders",
    "FakeConnection",
    "FilterHost",
    "FilterResponse",
    "FilterError",
    "Notification",
    "raw_response",
    "extension_site",
]
