"""Validators for filtered responses when conditional requests are allowed.

With ``force_no_conditional=False`` a filtered response keeps an ETag, derived
from the app's own and the filter's identity: ``"v1"`` becomes
``W/"v1-dfs<token>"`` (``dfw`` for a weak original). When a client sends such a
tag back in If-None-Match, the app is shown the tag it issued itself, so it
answers 304 exactly when its own body is unchanged; the 304 then carries the
derived tag again. (The app is shown its own tag in place of the derived one,
and no other tag the client sent beside it.) This is only true to the client if the filter is
deterministic: the same input body and request give the same output. A filter
whose output varies (a timestamp, a per-user banner) must keep the default
``force_no_conditional=True``, or change ``validator_token()`` whenever its
output would.
"""

from __future__ import annotations

import re

_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*,?')
_DERIVED = re.compile(r"^(.*)-df([sw])([0-9a-f]+)$")


def parse_tags(value: str) -> list[tuple[bool, str]]:
    """The entity tags of an ETag or If-None-Match value as ``(weak, opaque)``."""
    return [(bool(m.group(1)), m.group(2)) for m in _TAG.finditer(value)]


def derive(etag: str, token: str) -> str | None:
    """The weak ETag of the filtered body for the app's ``etag``, or None if
    the app's value is not a valid entity tag."""
    tags = parse_tags(etag)
    if len(tags) != 1:
        return None
    weak, opaque = tags[0]
    return f'W/"{opaque}-df{"w" if weak else "s"}{token}"'


def original(opaque: str, token: str) -> str | None:
    """The app's own tag inside one of our derived opaque values, or None."""
    found = _DERIVED.match(opaque)
    if not found or found.group(3) != token:
        return None
    inner = found.group(1)
    return f'W/"{inner}"' if found.group(2) == "w" else f'"{inner}"'


def translate_if_none_match(value: str, token: str, *, only_derived: bool = False) -> str:
    """If-None-Match as the app should see it: each derived tag replaced by the
    app's own (an app compares the header with its tag as it issued it; some
    compare the whole value). The client's own other tags go only when no
    derived tag comes with them: beside one, they may be from before the filter
    existed, and the app's 304 for one of them would stand for a filtered page
    the client never got. With ``only_derived`` they are always left out (a host
    that cannot ask the app twice cannot tell that 304 from a good one), and so is
    ``*``: its untyped 304 may be of a page not filtered, whose own tag it must keep."""
    if is_any(value):
        # Any current page: the app's 304 stands for the filtered one (confirms), where the app
        # can be asked again whenever the page may not be filtered at all.
        return "" if only_derived else value
    tags = [(weak, opaque, original(opaque, token)) for weak, opaque in parse_tags(value)]
    own = not only_derived and not any(inner for _, _, inner in tags)
    return ", ".join(inner or (f'W/"{opaque}"' if weak else f'"{opaque}"') for weak, opaque, inner in tags if inner or own)


def first_derived(value: str, token: str) -> str | None:
    """The first tag derived with ``token`` in an If-None-Match value, as the client sent it."""
    for weak, opaque in parse_tags(value):
        if original(opaque, token):
            return f'W/"{opaque}"' if weak else f'"{opaque}"'
    return None


def mentions_derived(value: str | None, token: str | None) -> bool:
    """Whether an If-None-Match value holds a tag derived with ``token`` (never, without one)."""
    return bool(value and token) and any(original(opaque, token) for _, opaque in parse_tags(value or ""))  # type: ignore[arg-type]


def is_any(value: str | None) -> bool:
    """Whether an If-None-Match value is ``*`` (any current representation)."""
    return value is not None and value.strip() == "*"


def confirms(value: str | None, token: str | None) -> bool:
    """Whether the app's 304 to an If-None-Match stands for the filtered page
    too: the value holds a tag derived with ``token``, or is ``*`` (any current
    page, filtered or not; RFC 9110 section 13.1.2). Never without a token
    (``force_no_conditional``)."""
    if not value or not token:
        return False
    return is_any(value) or mentions_derived(value, token)
