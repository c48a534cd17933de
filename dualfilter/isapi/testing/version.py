"""The version-info objects handed to ``GetExtensionVersion`` and ``GetFilterVersion``."""

from __future__ import annotations

from ..wire import buffer_arg

__all__ = ["FakeVersionInfo", "FakeFilterVersion", "IIS_VERSION", "FILTER_REVISION"]

#: HSE_VERSION 8.0, as IIS 8 and later report it.
IIS_VERSION = 0x00080000
#: HTTP_FILTER_REVISION as the double reports it (6.0).
FILTER_REVISION = 0x00060000
#: HSE_MAX_EXT_DLL_NAME_LEN: the room HSE_VERSION_INFO has for ExtensionDesc.
HSE_MAX_EXT_DLL_NAME_LEN = 256
#: SF_MAX_FILTER_DESC_LEN: the room HTTP_FILTER_VERSION has for FilterDesc.
SF_MAX_FILTER_DESC_LEN = 256 + 1


class FakeVersionInfo:
    """The HSE_VERSION_INFO handed to ``GetExtensionVersion``."""

    def __init__(self) -> None:
        self._desc = b""

    @property
    def ExtensionDesc(self) -> bytes:
        return self._desc

    @ExtensionDesc.setter
    def ExtensionDesc(self, value: str | bytes) -> None:
        data = buffer_arg(value, "ExtensionDesc") if value is not None else b""
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
        data = buffer_arg(value, "FilterDesc")
        if len(data) > SF_MAX_FILTER_DESC_LEN:
            raise ValueError(f"String is too long - max of {SF_MAX_FILTER_DESC_LEN} chars")
        self._desc = data
