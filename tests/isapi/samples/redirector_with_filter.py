"""The equivalent of pywin32's ``samples/redirector_with_filter.py``: a filter that moves every
request under ``VIRTUALDIR`` (PREPROC_HEADERS, ``SetHeader("url", ...)``) and counts the requests
of each connection in ``fc.FilterContext``, and an extension that serves ``VIRTUALDIR`` by
fetching the rest of the URL from ``UPSTREAM``.

The original compares the bytes URLs with str prefixes, which Python 3 refuses, and ends the
headers with one blank line too many; this one decodes the URLs and ends the headers once.
"""

from __future__ import annotations

from typing import Any
from urllib.request import urlopen

from dualfilter.isapi.constants import (
    HSE_STATUS_SUCCESS,
    SF_NOTIFY_ORDER_DEFAULT,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_STATUS_REQ_HANDLED_NOTIFICATION,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)

from .bases import SimpleExtension, SimpleFilter, ThreadPoolExtension, head_block

UPSTREAM = "http://127.0.0.1:1"
VIRTUALDIR = "/python"
#: The request count of each connection, as the filter saw it (for the tests to read).
counts: list[int] = []


def respond(ecb: Any) -> int:
    url = ecb.GetServerVariable("URL").decode("ascii")
    if url.startswith(VIRTUALDIR):
        with urlopen(UPSTREAM + url[len(VIRTUALDIR) :], timeout=10) as upstream:
            ecb.SendResponseHeaders("200 OK", head_block(upstream), False)
            ecb.WriteClient(upstream.read())
    else:
        ecb.SendResponseHeaders("404 Not Found", "Content-Type: text/plain\r\n\r\n", False)
        ecb.WriteClient(f"Not proxying {url}".encode())
    ecb.DoneWithSession()
    return HSE_STATUS_SUCCESS


class Extension(SimpleExtension):
    "Python sample Extension"

    def HttpExtensionProc(self, ecb: Any) -> int:
        return respond(ecb)


class PooledExtension(ThreadPoolExtension):
    "Python sample Extension, on a thread pool"

    def Dispatch(self, ecb: Any) -> None:
        respond(ecb)


class Filter(SimpleFilter):
    "Sample Python Redirector"

    filter_flags = SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_ORDER_DEFAULT

    def HttpFilterProc(self, fc: Any) -> int:
        if fc.NotificationType != SF_NOTIFY_PREPROC_HEADERS:
            return SF_STATUS_REQ_NEXT_NOTIFICATION
        headers = fc.GetData()
        url = headers.GetHeader("url").decode("ascii")
        if url.startswith(VIRTUALDIR):
            return SF_STATUS_REQ_NEXT_NOTIFICATION
        headers.SetHeader("url", VIRTUALDIR + url)
        fc.FilterContext = (fc.FilterContext or 0) + 1
        counts.append(fc.FilterContext)
        return SF_STATUS_REQ_HANDLED_NOTIFICATION


def __FilterFactory__() -> Filter:
    return Filter()


def __ExtensionFactory__() -> PooledExtension:
    return PooledExtension()
