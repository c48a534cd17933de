r"""The version-info objects handed to ``GetExtensionVersion`` and ``GetFilterVersion``.

As pywin32's ``PyVERSION_INFO`` (``PyExtensionObjects.cpp``) and
``PyFILTER_VERSION`` (``PyFilterObjects.cpp``) do, ``ExtensionDesc`` and
``FilterDesc`` take str (UTF-8) or bytes through ``PyISAPIString_AsBytes``
(anything else, ``None`` included, raises ValueError) and read back as bytes.
pywin32 refuses a description longer than the size of IIS's buffer
(``size > HSE_MAX_EXT_DLL_NAME_LEN``, 256 bytes, for ``ExtensionDesc``;
``size > SF_MAX_FILTER_DESC_LEN``, 257, for ``FilterDesc``) with ValueError,
and the doubles refuse exactly what it refuses. It then ``strcpy``\ s the
bytes *and* their NUL into that buffer, so a description of the longest
length it takes overruns IIS's buffer by one byte: whoever sets one (as
dualfilter does) keeps it one byte shorter. When ``GetExtensionVersion`` or
``GetFilterVersion`` raises, IIS does not load the DLL.
"""

from __future__ import annotations

from .args import isapi_string

__all__ = ["FakeVersionInfo", "FakeFilterVersion", "IIS_VERSION", "FILTER_REVISION"]

#: HSE_VERSION 8.0, as IIS 8 and later report it.
IIS_VERSION = 0x00080000
#: HTTP_FILTER_REVISION as the double reports it (6.0).
FILTER_REVISION = 0x00060000
#: HSE_MAX_EXT_DLL_NAME_LEN (httpext.h): the room HSE_VERSION_INFO has for ExtensionDesc, its
#: NUL included, and the most bytes pywin32 takes for it.
HSE_MAX_EXT_DLL_NAME_LEN = 256
#: SF_MAX_FILTER_DESC_LEN (httpfilt.h): the room HTTP_FILTER_VERSION has for FilterDesc, its
#: NUL included, and the most bytes pywin32 takes for it.
SF_MAX_FILTER_DESC_LEN = 256 + 1


class FakeVersionInfo:
    """The HSE_VERSION_INFO handed to ``GetExtensionVersion``."""

    __slots__ = ("_desc",)

    def __init__(self) -> None:
        self._desc = b""

    @property
    def ExtensionDesc(self) -> bytes:
        return self._desc

    @ExtensionDesc.setter
    def ExtensionDesc(self, value: str | bytes) -> None:
        data = isapi_string(value)
        if len(data) > HSE_MAX_EXT_DLL_NAME_LEN:
            raise ValueError(f"String is too long - max of {HSE_MAX_EXT_DLL_NAME_LEN} chars")
        self._desc = data


class FakeFilterVersion:
    """The HTTP_FILTER_VERSION handed to ``GetFilterVersion``."""

    __slots__ = ("_flags", "_version", "_desc")

    def __init__(self) -> None:
        self._flags = 0
        self._version = FILTER_REVISION
        self._desc = b""

    @property
    def ServerFilterVersion(self) -> int:
        return FILTER_REVISION

    @property
    def FilterVersion(self) -> int:
        return self._version

    @FilterVersion.setter
    def FilterVersion(self, value: int) -> None:
        if not isinstance(value, int):
            raise ValueError(f"FilterVersion must be an int (got {type(value).__name__})")
        self._version = value

    @property
    def Flags(self) -> int:
        return self._flags

    @Flags.setter
    def Flags(self, value: int) -> None:
        if not isinstance(value, int):
            raise ValueError(f"Flags must be an int (got {type(value).__name__})")
        self._flags = value

    @property
    def FilterDesc(self) -> bytes:
        return self._desc

    @FilterDesc.setter
    def FilterDesc(self, value: str | bytes) -> None:
        data = isapi_string(value)
        if len(data) > SF_MAX_FILTER_DESC_LEN:
            raise ValueError(f"String is too long - max of {SF_MAX_FILTER_DESC_LEN} chars")
        self._desc = data
