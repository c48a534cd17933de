"""Exceptions raised by dualfilter."""

from __future__ import annotations


class ProtocolError(RuntimeError):
    """A host fed the response machine events in an order HTTP does not allow.

    This is a bug in the host adapter or the wrapped application (a body before
    the response start, anything after the end), never in user input.
    """


class FilterError(Exception):
    """A response that had to be filtered could not be.

    Raised inside the core for undecodable bodies, unknown charsets, output the
    filter returned in the wrong type, invalid header values and similar; the
    response machine turns it into a clean 500 response.
    """


class StreamError(Exception):
    """A streaming filter failed after the response had started.

    The status and headers are already on their way, so no error page can
    replace them: the response machine raises this from ``body()`` or ``end()``
    and the host cuts the response short (the client sees an incomplete body).
    The filter's own exception is the ``__cause__``.
    """
