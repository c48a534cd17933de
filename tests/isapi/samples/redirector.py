"""The equivalent of pywin32's ``samples/redirector.py``: every request is fetched from ``UPSTREAM``
and relayed (its headers as the upstream sent them, then its body), except the URLs in
``EXCLUDES``, which IIS serves itself through ExecURL (the IOCompletion callback ends the session)."""

from __future__ import annotations

from typing import Any
from urllib.request import urlopen

from dualfilter.isapi.constants import HSE_STATUS_PENDING, HSE_STATUS_SUCCESS

from .bases import SimpleExtension, ThreadPoolExtension, head_block

#: isapicon.HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR
HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR = 0x04
UPSTREAM = "http://127.0.0.1:1"
EXCLUDES = ["/iisstart.htm", "/welcome.png"]
exec_results: list[tuple[str, tuple[int, int, int]]] = []


def executed(ecb: Any, url: str, cbIO: int, error: int) -> None:
    exec_results.append((url, ecb.GetExecURLStatus()))
    ecb.DoneWithSession()


def relay(ecb: Any, url: str) -> None:
    with urlopen(UPSTREAM + url, timeout=10) as upstream:
        ecb.SendResponseHeaders("200 OK", head_block(upstream), False)
        ecb.WriteClient(upstream.read())
    ecb.DoneWithSession()


def respond(ecb: Any) -> int:
    url = ecb.GetServerVariable("URL").decode("ascii")
    if any(url.lower().startswith(exclude) for exclude in EXCLUDES) and ecb.Version >= 0x60000:
        ecb.IOCompletion(executed, url)
        ecb.ExecURL(None, None, None, None, None, HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR)
        return HSE_STATUS_PENDING
    relay(ecb, url)
    return HSE_STATUS_SUCCESS


class Extension(SimpleExtension):
    "Python sample Extension"

    def HttpExtensionProc(self, ecb: Any) -> int:
        return respond(ecb)


class PooledExtension(ThreadPoolExtension):
    "Python sample Extension, on a thread pool"

    def Dispatch(self, ecb: Any) -> None:
        respond(ecb)


def __ExtensionFactory__() -> PooledExtension:
    return PooledExtension()
