"""Example filters shared by the core tests."""

from __future__ import annotations

import codecs
import re

from dualfilter import Filter


class Upper(Filter):
    """Upper-cases the bytes of HTML responses."""

    def filter(self, environ, headers, data):
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
