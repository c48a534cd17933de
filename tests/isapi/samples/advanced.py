"""The equivalent of pywin32's ``samples/advanced.py``: a page listing the server variables named in
the query string (``?URL&SERVER_NAME``), a URL ending in ``ReportUnhealthy`` reports the worker
unhealthy, and the page counts the requests served.

The original splits ``GetServerVariable("QUERY_STRING")`` (bytes) with a str and passes the bytes
pieces back as names, which Python 3 refuses; this one decodes the query string first.
"""

from __future__ import annotations

import itertools
from typing import Any

from dualfilter.isapi.constants import HSE_STATUS_SUCCESS

from .bases import SimpleExtension, ThreadPoolExtension

served = itertools.count(1)


def respond(ecb: Any) -> int:
    if ecb.GetServerVariable("UNICODE_URL").endswith("ReportUnhealthy"):
        ecb.ReportUnhealthy("I'm a little sick")
    ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\n\r\n", 0)
    print("<HTML><BODY>", file=ecb)
    query = ecb.GetServerVariable("QUERY_STRING").decode("latin-1")
    if query:
        print("<PRE>", file=ecb)
        for name in query.split("&"):
            print(f"{name}={ecb.GetServerVariable(name, b'&lt;no such variable&gt;')!r}", file=ecb)
        print("</PRE><P/>", file=ecb)
    print(f"Request {next(served)} of this process", file=ecb)
    print("</BODY></HTML>", file=ecb)
    ecb.close()
    return HSE_STATUS_SUCCESS


class Extension(SimpleExtension):
    "Python advanced sample Extension"

    def HttpExtensionProc(self, ecb: Any) -> int:
        return respond(ecb)


class PooledExtension(ThreadPoolExtension):
    "Python advanced sample Extension, on a thread pool"

    def Dispatch(self, ecb: Any) -> None:
        respond(ecb)


def __ExtensionFactory__() -> Extension:
    return Extension()
