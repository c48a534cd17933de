"""``RewriteLinks``: rewrite the URLs of an HTML document by prefix mapping or a function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

from ..filter import Filter
from ..headers import Headers
from ..html import engine
from ..html.links import SRCSET_ATTRIBUTES, rewrite_css, rewrite_srcset
from ..specs import import_object
from ..streaming import Stream

#: The URL attributes lxml's ``iterlinks`` does not know (dualfilter.html.links knows them all).
_MORE_URL_ATTRIBUTES = ("poster",)
_MORE_LINKS = "//*[" + " or ".join(f"@{name}" for name in (*_MORE_URL_ATTRIBUTES, *SRCSET_ATTRIBUTES)) + "]"


def _rewrite_lxml_links(document: Any, rewrite: Callable[[str], str]) -> None:
    """The links lxml's ``iterlinks`` finds, rewritten as its ``rewrite_links`` would, but
    each value from its end back (several links in one value, as ``archive`` holds,
    keep their places) and CSS read as browsers read it (``url( 'x' )``,
    ``@import 'x'``: :func:`~dualfilter.html.links.rewrite_css`, as the streaming path)."""
    found: dict[tuple[Any, str | None], list[tuple[int, str]]] = {}
    for element, attribute, link, position in document.iterlinks():
        if attribute == "style" or (attribute is None and element.tag == "style"):
            continue  # CSS: below
        found.setdefault((element, attribute), []).append((position, link))
    for (element, attribute), links in found.items():
        value = element.get(attribute) if attribute is not None else element.text
        if value is None:
            continue
        new_value = value
        for position, link in sorted(links, reverse=True):
            new = rewrite(link.strip())
            if new != link:
                whole = not position and len(link) == len(value)
                new_value = new if whole else new_value[:position] + new + new_value[position + len(link) :]
        if new_value != value:
            if attribute is None:
                element.text = new_value
            else:
                element.set(attribute, new_value)
    for element in document.iter():
        style = element.get("style") if isinstance(element.tag, str) else None
        if style is not None and (new := rewrite_css(style, lambda url: rewrite(url.strip()))) != style:
            element.set("style", new)
        if element.tag == "style" and element.text and (new := rewrite_css(element.text, rewrite)) != element.text:
            element.text = new


def _rewrite_more_links(document: Any, rewrite: Callable[[str], str]) -> None:
    """Rewrite in ``document`` (an lxml tree) the links ``rewrite_links`` leaves: ``poster``
    as lxml rewrites a URL attribute, each image candidate of ``srcset`` and ``imagesrcset``."""
    for element in document.xpath(_MORE_LINKS):
        for name in _MORE_URL_ATTRIBUTES:
            value = element.get(name)
            if value is not None and (new := rewrite(value.strip())) != value:
                element.set(name, new)
        for name in SRCSET_ATTRIBUTES:
            value = element.get(name)
            if value is not None and (new := rewrite_srcset(value, rewrite)) != value:
                element.set(name, new)


def parse_mapping(mapping: Mapping[str, str] | str) -> list[tuple[str, str]]:
    """Prefix pairs from a mapping, or from ``'old=new old2=new2'`` (whitespace or
    newlines between pairs, the first ``=`` of each splits it), longest first."""
    if isinstance(mapping, str):
        pairs = []
        for item in mapping.split():
            old, sep, new = item.partition("=")
            if not sep or not old:
                raise ValueError(f"mapping item {item!r} is not OLD=NEW")
            pairs.append((old, new))
    elif isinstance(mapping, Mapping):
        pairs = list(mapping.items())
        for old, new in pairs:
            if not isinstance(old, str) or not isinstance(new, str) or not old:
                raise TypeError(f"mapping must map URL prefixes (non-empty str) to str, not {old!r}: {new!r}")
    else:
        raise TypeError(f"mapping must be a dict of prefixes or 'old=new ...' (str), not {mapping!r}")
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


class RewriteLinks(Filter):
    """Rewrite every URL in HTML (``href``, ``src``, ``action``, CSS ``url()``,
    ``<base>``, …): behind a proxy, or when an app moves to a new place.

    ``mapping`` replaces URL prefixes (the longest matching prefix wins); then
    ``function(url)``, if set, returns the new URL (None keeps it). Links are
    taken as written: ``/app/x`` matches the prefix ``/app/`` but ``x`` does
    not; set ``base_href`` to make relative links absolute against it first.

    With the ``dualfilter[html]`` extra the page streams through
    :class:`dualfilter.html.Rewriter` (the links lxml finds, in the same
    places, but inside ``<noscript>``, whose content it reads as text, as a
    browser running scripts does; everything else byte for byte). Without it
    the document goes through lxml (the ``lxml_html`` format), whole.
    """

    format: Any = "lxml_html"  # None when the html extra streams the page instead
    #: URL prefixes to replace: a dict, or ``'old=new old2=new2'`` in ini files and SPECs.
    mapping: Mapping[str, str] | str | None = None
    #: A callable ``function(url) -> str | None``, or ``'module:function'``; a
    #: subclass may define it as a method.
    function: Any = None
    #: Make relative links absolute against this URL before rewriting them.
    base_href: str | None = None

    def _configure(self) -> None:
        self._links: Any = None
        if engine.lolhtml is not None:
            from ..html.links import LinkRewriter

            self.format = None
            if self.filter_content_types is Filter.filter_content_types:
                self.filter_content_types = LinkRewriter.filter_content_types
            self._links = LinkRewriter(
                owner=self,
                max_buffer_size=self.max_buffer_size,
                oversize=self.oversize,
                unicode_errors=self.unicode_errors,
                debug=self.debug,
            )
        super()._configure()
        self._mapping = parse_mapping(self.mapping) if self.mapping else []
        if isinstance(self.function, str):
            self.function = import_object(self.function)
        if self.function is not None and not callable(self.function):
            raise ValueError(f"function must be callable, not {self.function!r}")
        if not self._mapping and self.function is None:
            raise ValueError("RewriteLinks needs a mapping or a function")

    def rewrite_link(self, url: str) -> str:
        """The new URL for ``url``: made absolute (``base_href``), mapped, then ``function``."""
        if self.base_href and not url.startswith("#"):
            try:
                url = urljoin(self.base_href, url)
            except ValueError:  # not a URL urljoin can parse: leave it as written
                pass
        for old, new in self._mapping:
            if url.startswith(old):
                url = new + url[len(old) :]
                break
        function: Callable[[str], str | None] | None = self.function
        if function is not None:
            result = function(url)
            if result is not None:
                url = result
        return url

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: Any) -> Any:
        """The document with every link rewritten."""
        if self._links is not None:
            return self._links.filter(environ, headers, data)
        _rewrite_lxml_links(data, self.rewrite_link)
        _rewrite_more_links(data, self.rewrite_link)
        return data

    def stream(self, environ: Mapping[str, Any], headers: Headers) -> Stream | None:
        """The page, its links rewritten as it streams (with the html extra)."""
        return self._links.stream(environ, headers) if self._links is not None else None
