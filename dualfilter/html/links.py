"""The streaming form of ``dualfilter.filters.RewriteLinks``: the links lxml's ``iterlinks`` finds, found by
``dualfilter.html`` (imported only when the html extra is installed)."""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Callable, Mapping
from typing import Any

from .nodes import Element, Text
from .rewriter import Rewriter, on

#: The attributes that hold one URL: lxml.html.defs.link_attrs, but ``archive``,
#: and ``poster``, which lxml does not know.
URL_ATTRIBUTES = (
    "action", "background", "cite", "classid", "codebase", "data", "dynsrc",
    "formaction", "href", "longdesc", "lowsrc", "poster", "profile", "src", "usemap", "xlink:href",
)  # fmt: skip
#: The attributes that hold a list of image candidates (``<img>``, ``<source>``, ``<link>``).
SRCSET_ATTRIBUTES = ("srcset", "imagesrcset")
_SELECTOR = ",".join(
    f"[{name.replace(':', chr(92) + ':')}]" for name in (*URL_ATTRIBUTES, *SRCSET_ATTRIBUTES, "archive", "style")
)
_CSS_URL = re.compile(r"""url\(\s*("[^"]*"|'[^']*'|[^)]*?)\s*\)""", re.I)
_CSS_IMPORT = re.compile(r"""@import\s+("[^"]*"|'[^']*')""", re.I)
#: A refresh value: the delay, then the URL, ``url=`` before it optional (WHATWG HTML, "shared declarative refresh steps").
_REFRESH = re.compile(r"""^(\s*\d*(?:\.\d*)?\s*[;,]\s*(?:url\s*=\s*)?)(.*)$""", re.I | re.S)


#: A character reference, as the standard library finds them (``html.unescape``).
_REFERENCE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_ALPHANUMERIC_OR_EQUALS = re.compile(r"[A-Za-z0-9=]")


def unescape_attribute(value: str) -> str:
    """An attribute value as browsers read it: character references decoded,
    except a named one without its ``;`` followed by an ASCII letter, digit or
    ``=``, which stays as written (WHATWG HTML, the named character reference
    state, in an attribute value): ``?q=x&region=us`` is not ``?q=x®ion=us``."""

    def decoded(found: re.Match[str]) -> str:
        name = found.group(1)
        if name[0] == "#" or name in html.entities.html5:
            return html.unescape(found.group(0))
        for end in range(len(name) - 1, 1, -1):  # the longest name a reference may omit its ';' after
            if name[:end] in html.entities.html5:
                if _ALPHANUMERIC_OR_EQUALS.match(name, end):
                    return found.group(0)
                return html.entities.html5[name[:end]] + name[end:]
        return found.group(0)

    return _REFERENCE.sub(decoded, value) if "&" in value else value


def _quoted(token: str, rewrite: Callable[[str], str]) -> str:
    """``rewrite`` applied inside the quotes of a CSS string or url() argument."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in ('"', "'"):
        return token[0] + rewrite(token[1:-1]) + token[0]
    return rewrite(token)


def rewrite_css(text: str, rewrite: Callable[[str], str]) -> str:
    """``text`` (CSS) with every ``url()`` and ``@import "..."`` rewritten."""
    text = _CSS_URL.sub(lambda m: _spliced(m, rewrite), text)
    return _CSS_IMPORT.sub(lambda m: _spliced(m, rewrite), text)


def _spliced(found: re.Match[str], rewrite: Callable[[str], str]) -> str:
    """The text ``found`` matched, with its first group (the URL) rewritten in its place;
    an empty URL is left as it is (CSS Values 4: it resolves to no resource)."""
    if not found.group(1).strip("'\" \t\n\f\r"):
        return found.group(0)
    start, end = found.span(1)
    offset = found.start()
    whole = found.group(0)
    return whole[: start - offset] + _quoted(found.group(1), rewrite) + whole[end - offset :]


_SPACE = " \t\n\f\r"


def rewrite_srcset(value: str, rewrite: Callable[[str], str]) -> str:
    """``value`` (a ``srcset``) with each image candidate's URL rewritten, and its
    descriptors and separators kept as written.

    Split as HTML's "parse a srcset attribute" splits it: a URL runs to the next
    whitespace, and commas at its end (only there) are separators; descriptors
    run to the next comma outside parentheses."""
    parts: list[str] = []
    done = position = 0
    end = len(value)
    while True:
        while position < end and (value[position] in _SPACE or value[position] == ","):
            position += 1
        if position >= end:
            break
        start = position
        while position < end and value[position] not in _SPACE:
            position += 1
        url_end = position
        while value[url_end - 1] == ",":  # the first character is not a comma
            url_end -= 1
        parts += (value[done:start], rewrite(value[start:url_end]))
        done = url_end
        if url_end < position:  # the candidate ends at those commas: no descriptors
            continue
        in_parens = False
        while position < end:
            char = value[position]
            position += 1
            if char == "(":
                in_parens = True
            elif char == ")":
                in_parens = False
            elif char == "," and not in_parens:
                break
    parts.append(value[done:])
    return "".join(parts)


class LinkRewriter(Rewriter):
    """Rewrites each link of a page through ``owner.rewrite_link``."""

    #: The ``RewriteLinks`` whose ``rewrite_link`` gives the new URLs.
    owner: Any = None

    def _attribute(self, value: str) -> str:
        """A URL as written in an attribute (character references and all), rewritten;
        as browsers and lxml do, spaces around it are no part of it."""
        url = unescape_attribute(value).strip(_SPACE)
        new = self.owner.rewrite_link(url)
        return value if new == url else new.replace("&", "&amp;")

    def _css(self, value: str) -> str:
        """A ``style`` attribute (character references and all) with its URLs rewritten:
        read whole first, since its quotes may be references too (``url(&quot;...&quot;)``)."""
        css = unescape_attribute(value)
        new = rewrite_css(css, lambda url: self.owner.rewrite_link(url.strip(_SPACE)))
        return value if new == css else new.replace("&", "&amp;")

    def _set(self, element: Element, name: str, value: str, new: str) -> None:
        if new != value:
            element.set_attribute(name, new)

    @on(_SELECTOR)
    def attributes(self, element: Element, environ: Mapping[str, Any]) -> None:
        for name, value in element.attributes:
            if name in URL_ATTRIBUTES:
                self._set(element, name, value, self._attribute(value))
            elif name in SRCSET_ATTRIBUTES:
                self._set(element, name, value, rewrite_srcset(value, self._attribute))
            elif name == "archive":
                self._set(element, name, value, re.sub(r"[^\s,]+", lambda m: self._attribute(m.group(0)), value))
            elif name == "style":
                self._set(element, name, value, self._css(value))

    @on("meta[http-equiv]")
    def refresh(self, element: Element, environ: Mapping[str, Any]) -> None:
        if (element.get_attribute("http-equiv") or "").strip().lower() != "refresh":
            return
        content = element.get_attribute("content") or ""
        self._set(element, "content", content, self._refresh(content))

    def _refresh(self, value: str) -> str:
        """A refresh ``content`` (character references and all) with its URL rewritten:
        read whole first, since its quotes may be references too (``url=&quot;...&quot;``)."""
        found = _REFRESH.match(unescape_attribute(value))
        if found is None or not found.group(2).strip():
            return value
        url = found.group(2).strip()
        new = _quoted(url, self._link)
        return value if new == url else (found.group(1) + new).replace("&", "&amp;")

    def _link(self, url: str) -> str:
        """``url`` (references decoded) rewritten, or as it is when the rewrite keeps it."""
        new = self.owner.rewrite_link(url.strip(_SPACE))
        return url if new == url.strip(_SPACE) else str(new)

    @on("param[valuetype]")
    def param(self, element: Element, environ: Mapping[str, Any]) -> None:
        value = element.get_attribute("value")
        if value is not None and (element.get_attribute("valuetype") or "").lower() == "ref":
            self._set(element, "value", value, self._attribute(value))

    @on.text("style")
    def stylesheet(self, text: Text, environ: Mapping[str, Any]) -> None:
        new = rewrite_css(text.text, self.owner.rewrite_link)
        if new != text.text:
            text.replace(new, html=True)  # raw text: written as it is
