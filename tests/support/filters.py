"""The example filters the test folders share: each defined once, here."""

from __future__ import annotations

import asyncio
import codecs
import re

from dualfilter import Filter


class Upper(Filter):
    """Upper-cases the bytes of HTML responses."""

    def filter(self, environ, headers, data):
        return data.upper()


class ClosingStream:
    """Upper-cases chunk by chunk, and counts the responses dropped before their end (``close()``)."""

    closed = 0

    def feed(self, data):
        return data.upper()

    def finish(self):
        return b""

    def close(self):
        ClosingStream.closed += 1


class ClosingStreams(Upper):
    """Upper streaming through a :class:`ClosingStream`."""

    def stream(self, environ, headers):
        return ClosingStream()


class AsyncUpper(Filter):
    """Upper-cases the bytes in an ``async def`` filter."""

    async def filter(self, environ, headers, data):
        await asyncio.sleep(0)
        return data.upper()


class Rot13(Filter):
    """ROT13 of the text between tags, on decoded text."""

    decode_unicode = True

    def filter(self, environ, headers, data):
        return re.sub(r">([^<]+)<", lambda m: ">" + codecs.encode(m.group(1), "rot13") + "<", data)


class Identity(Filter):
    """Returns the body unchanged: filtering without a change."""

    decode_unicode = True

    def filter(self, environ, headers, data):
        return data


#: Format filters that mark what they read: each <p> of a page, an XML root, a JSON object.
class MarkHTML(Filter):
    format = "lxml_html"

    def filter(self, environ, headers, data):
        for paragraph in data.iter("p"):
            paragraph.set("seen", "yes")
        return data


class MarkXML(Filter):
    format = "lxml_xml"

    def filter(self, environ, headers, data):
        data.set("seen", "yes")
        return data


class MarkJSON(Filter):
    format = "json"

    def filter(self, environ, headers, data):
        data["seen"] = True
        return data
