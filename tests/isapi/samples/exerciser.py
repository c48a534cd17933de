"""The equivalent of pywin32's ``samples/test.py``: a request for this script's own name gets its
source through TransmitFile (the completion callback closes the session and the file); any other
gets a page naming the site's physical root (MapURLToPath)."""

from __future__ import annotations

import os
from typing import Any

from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_IO_DISCONNECT_AFTER_SEND, HSE_IO_SEND_HEADERS, HSE_STATUS_SUCCESS

from .bases import SimpleExtension, ThreadPoolExtension

SOURCE = os.path.abspath(__file__)


def transmitted(ecb: Any, fd: int, cbIO: int, error: int) -> None:
    """The file is sent: close the file and the session."""
    os.close(fd)
    ecb.close()


def respond(ecb: Any) -> int:
    if ecb.GetServerVariable("UNICODE_URL").endswith(os.path.basename(SOURCE)):
        fd = os.open(SOURCE, os.O_RDONLY)
        flags = HSE_IO_ASYNC | HSE_IO_DISCONNECT_AFTER_SEND | HSE_IO_SEND_HEADERS
        try:
            ecb.TransmitFile(transmitted, fd, fd, "200 OK", 0, 0, None, None, flags)
        except Exception:
            os.close(fd)
            raise
    else:
        ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\n\r\n", 0)
        print("<HTML><BODY>", file=ecb)
        print("The root of this site is at", ecb.MapURLToPath("/").decode("latin-1"), file=ecb)
        print("</BODY></HTML>", file=ecb)
        ecb.close()
    return HSE_STATUS_SUCCESS


class Extension(SimpleExtension):
    "Python test Extension"

    def HttpExtensionProc(self, ecb: Any) -> int:
        return respond(ecb)


class PooledExtension(ThreadPoolExtension):
    "Python test Extension, on a thread pool"

    def Dispatch(self, ecb: Any) -> None:
        respond(ecb)


def __ExtensionFactory__() -> Extension:
    return Extension()
