"""The equivalent of pywin32's ``samples/redirector_asynch.py``: each request is fetched from
``UPSTREAM`` and relayed in chunks of ``CHUNK_SIZE``, each written asynchronously; the IOCompletion
callback writes the next chunk, and ends the session after the last.

The original calls ``ecb.ReqIOCompletion`` (the ECB's method is ``IOCompletion``) and adds the str
``proxy`` to the bytes URL, which Python 3 refuses, and ends the headers with ``str(headers) + "\r\n"``
(one blank line too many: a stray CRLF starts the body); this one does what it means.
"""

from __future__ import annotations

from typing import Any
from urllib.request import urlopen

from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS

from .bases import SimpleExtension, ThreadPoolExtension, head_block

UPSTREAM = "http://127.0.0.1:1"
CHUNK_SIZE = 8192


def wrote(ecb: Any, upstream: Any, cbIO: int, error: int) -> None:
    chunk = upstream.read(CHUNK_SIZE)
    if chunk:
        ecb.WriteClient(chunk, HSE_IO_ASYNC)
    else:
        upstream.close()
        ecb.DoneWithSession()


def respond(ecb: Any) -> int:
    url = ecb.GetServerVariable("URL").decode("ascii")
    upstream = urlopen(UPSTREAM + url, timeout=10)
    ecb.SendResponseHeaders("200 OK", head_block(upstream), False)
    ecb.IOCompletion(wrote, upstream)
    chunk = upstream.read(CHUNK_SIZE)
    if chunk:
        ecb.WriteClient(chunk, HSE_IO_ASYNC)
        return HSE_STATUS_PENDING
    upstream.close()
    ecb.DoneWithSession()
    return HSE_STATUS_SUCCESS


class Extension(SimpleExtension):
    "Python sample proxy server - asynch version."

    def HttpExtensionProc(self, ecb: Any) -> int:
        return respond(ecb)


class PooledExtension(ThreadPoolExtension):
    "Python sample proxy server - asynch version, on a thread pool."

    def Dispatch(self, ecb: Any) -> None:
        respond(ecb)


def __ExtensionFactory__() -> PooledExtension:
    return PooledExtension()
