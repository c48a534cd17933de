"""What handlers see and what their edits give, on a whole page."""

from __future__ import annotations

import re

import pytest
from html_rewriters import PAGE, CollectText, Tidy

from dualfilter.html import Rewriter, on
from dualfilter.testing import run_filter


def body_of(flt, page=PAGE, **kw):
    return run_filter(flt, page, **kw)[2]


def test_the_design_example_edits_what_its_selectors_match():
    out = body_of(Tidy)
    # text.text is as written, so its "&amp;" comes back escaped once more: html=True keeps it
    assert b"<title>HELLO &amp;AMP; W\xc3\x96RLD</title>" in out
    assert b'<body class=x><div class="banner">staging</div><p>' in out
    assert b"<a href='http://example.com/a' rel=\"noopener\">ext</a><a href=/local>local</a>" in out
    assert out.endswith(b"</html>\n<!-- filtered -->")


def test_markup_no_handler_touches_comes_out_byte_for_byte():
    class Nothing(Rewriter):
        @on("video")
        def never(self, element, environ):
            element.remove()

    page = b"<!doctype html><HTML><p class='a'  id=b>x &amp; y<br/><!--c--><script>a<b</script>\n</HTML>"
    assert body_of(Nothing, page) == page


def test_text_handlers_get_whole_nodes_as_written_including_descendants():
    seen = []
    out = body_of(CollectText(seen=seen))
    assert seen == ["one ", "two", " three", "caf\u00e9 &lt;ok&gt;"]
    assert b"<p>[one ]<b>[two]</b>[ three]</p>" in out and b"<p>[caf\xc3\xa9 &lt;ok&gt;]</p>" in out


def test_text_handlers_never_see_empty_text():
    seen = []
    body_of(CollectText(seen=seen), b"<p></p><p><b></b></p>")
    assert seen == []


def test_text_content_is_escaped_unless_html_is_true():
    class Insert(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.before("<i>&</i>")
            element.after("<i>&amp;</i>", html=True)

    assert body_of(Insert, b"<p>x</p>") == b"&lt;i&gt;&amp;&lt;/i&gt;<p>x</p><i>&amp;</i>"


def test_element_reads_and_writes_tag_name_and_attributes():
    class Rename(Rewriter):
        @on("b")
        def b(self, element, environ):
            assert element.tag_name == "b"
            assert element.attributes == [("class", "x"), ("data-n", "1")]
            assert element.get_attribute("class") == "x" and element.get_attribute("nope") is None
            assert element.has_attribute("data-n") and not element.has_attribute("nope")
            element.tag_name = "strong"
            element.remove_attribute("data-n")
            element.set_attribute("title", 'say "hi"')

    assert body_of(Rename, b'<b class=x data-n="1">t</b>') == b'<strong class=x title="say &quot;hi&quot;">t</strong>'


def test_element_insertions_land_around_and_inside_the_element():
    class Around(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.before("1")
            element.prepend("2")
            element.append("3")
            element.after("4")

    assert body_of(Around, b"<p>x</p>") == b"1<p>2x3</p>4"


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("set_inner_content", b"<div><p><b>new</b></p></div>"),
        ("replace", b"<div><b>new</b></div>"),
    ],
)
def test_content_replacing_methods(method, expected):
    class Swap(Rewriter):
        @on("p")
        def p(self, element, environ):
            getattr(element, method)("<b>new</b>", html=True)

    assert body_of(Swap, b"<div><p>old <i>x</i></p></div>") == expected


#: Edits on one element, "method:content" ("method!:content" for html=True), and
#: what lol-html gives for an element with content and for a void one, per its
#: element.rs and mutations.rs (and HTMLRewriter): ``replace`` writes its content
#: in the element's place, after all that ``before`` adds and ahead of all that
#: ``after`` adds, whichever came first; a later ``replace`` overwrites it;
#: ``remove`` keeps it; what ``prepend``/``append``/``set_inner_content`` add after
#: it follows it (an element without content takes none).
REPLACE_EDITS = [
    (("replace:R1", "replace:R2"), "R2", "R2"),
    (("replace:R", "before:B"), "BR", "BR"),
    (("replace:R", "after:A"), "RA", "RA"),
    (("replace:R", "prepend:P"), "RP", "R"),
    (("replace:R", "append:E"), "RE", "R"),
    (("replace:R", "set_inner_content:I"), "RI", "R"),
    (("replace:R", "remove"), "R", "R"),
    (("replace:R", "remove_and_keep_content"), "R", "R"),
    (("before:B", "replace:R"), "BR", "BR"),
    (("after:A", "replace:R"), "RA", "RA"),
    (("prepend:P", "replace:R"), "R", "R"),
    (("append:E", "replace:R"), "R", "R"),
    (("set_inner_content:I", "replace:R"), "R", "R"),
    (("remove", "replace:R"), "R", "R"),
    (("remove_and_keep_content", "replace:R"), "R", "R"),
    (("before:B1", "replace:R", "before:B2", "after:A1", "after:A2"), "B1B2RA2A1", "B1B2RA2A1"),
    (("replace:R", "prepend:P", "remove"), "R", "R"),
    (("replace:R1", "prepend:P", "replace:R2"), "R2", "R2"),
    (("replace:R", "append:E", "prepend:P"), "RPE", "R"),
    (("replace:R", "remove_and_keep_content", "prepend:P"), "RP", "R"),
    (("set_inner_content:I", "before:B", "replace:R", "append:E"), "BRE", "BR"),
    (("replace!:<b>R</b>", "replace:<i>"), "&lt;i&gt;", "&lt;i&gt;"),
    (("replace:<i>", "replace!:<b>R</b>"), "<b>R</b>", "<b>R</b>"),
]


def edit(element, spec):
    """Apply one "method:content" edit of REPLACE_EDITS to ``element``."""
    name, _, content = spec.partition(":")
    method = getattr(element, name.rstrip("!"))
    if _:
        method(content, html=name.endswith("!"))
    else:
        method()


def edited(page, selector, edits, *, one_handler_each):
    """``page`` with ``edits`` made on the element ``selector`` matches, by one
    handler or by one handler per edit (run in order on the same element)."""
    groups = [[spec] for spec in edits] if one_handler_each else [list(edits)]
    methods = {}
    for n, group in enumerate(groups):

        def handler(self, element, environ, group=group):
            for spec in group:
                edit(element, spec)

        methods[f"edit{n}"] = on(selector)(handler)
    return body_of(type("Edits", (Rewriter,), methods), page).decode()


@pytest.mark.parametrize(("edits", "with_content", "void"), REPLACE_EDITS, ids=[" ".join(e) for e, _, _ in REPLACE_EDITS])
def test_replace_combines_with_every_other_edit_as_in_lol_html(edits, with_content, void):
    assert edited(b"<p>a</p><div>old</div><p>b</p>", "div", edits, one_handler_each=False) == f"<p>a</p>{with_content}<p>b</p>"
    assert edited(b"<p>a</p><img src=x><p>b</p>", "img", edits, one_handler_each=False) == f"<p>a</p>{void}<p>b</p>"


@pytest.mark.parametrize(("edits", "with_content", "void"), REPLACE_EDITS, ids=[" ".join(e) for e, _, _ in REPLACE_EDITS])
def test_replace_combines_the_same_way_when_the_edits_come_from_several_handlers(edits, with_content, void):
    assert edited(b"<p>a</p><div>old</div><p>b</p>", "div", edits, one_handler_each=True) == f"<p>a</p>{with_content}<p>b</p>"
    assert edited(b"<p>a</p><img src=x><p>b</p>", "img", edits, one_handler_each=True) == f"<p>a</p>{void}<p>b</p>"


def test_remove_drops_the_element_and_marks_it_removed():
    removed = []

    class Drop(Rewriter):
        @on("script[src*='tracker']")
        def drop(self, element, environ):
            element.remove()
            removed.append(element.removed)

    page = b"<head><script src='/tracker.js'></script><script src=/app.js></script></head>"
    assert body_of(Drop, page) == b"<head><script src=/app.js></script></head>"
    assert removed == [True]


def test_remove_and_keep_content_unwraps_the_element():
    class Unwrap(Rewriter):
        @on("font")
        def font(self, element, environ):
            element.remove_and_keep_content()

    assert body_of(Unwrap, b"<p><font color=red>hi <b>you</b></font></p>") == b"<p>hi <b>you</b></p>"


def test_text_node_edits():
    class Edit(Rewriter):
        @on.text("h1")
        def h1(self, text, environ):
            text.before("<", html=False)
            text.after("<br>", html=True)

        @on.text("em")
        def em(self, text, environ):
            text.remove()

    assert body_of(Edit, b"<h1>a</h1><em>gone</em>") == b"<h1>&lt;a<br></h1><em></em>"


def test_handlers_run_in_definition_order_and_get_the_environ():
    calls = []

    class Order(Rewriter):
        @on("p")
        def first(self, element, environ):
            calls.append(("first", environ["PATH_INFO"]))

        @on("p")
        @on("div")
        def second(self, element, environ):
            calls.append(("second", element.tag_name))

    run_filter(Order, b"<div></div><p></p>", environ={"PATH_INFO": "/page"})
    assert calls == [("second", "div"), ("first", "/page"), ("second", "p")]


def test_a_subclass_keeps_its_parents_handlers_and_overrides_by_name():
    class Base(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.set_attribute("a", "base")

        @on("i")
        def i(self, element, environ):
            element.remove()

    class Child(Base):
        def i(self, element, environ):  # no longer a handler
            pass

    assert body_of(Base, b"<p></p><i>x</i>") == b'<p a="base"></p>'
    assert body_of(Child, b"<p></p><i>x</i>") == b'<p a="base"></p><i>x</i>'


@pytest.mark.parametrize("chunks", [1, 3, 100])
def test_a_handler_a_subclass_redefines_with_on_runs_after_its_parents_handlers(chunks):
    class Base(Rewriter):
        @on("p")
        def a(self, element, environ):
            element.append("[Base.a]")

        @on("p")
        def b(self, element, environ):
            element.append("[Base.b]")

    class Child(Base):
        @on("p")
        def a(self, element, environ):
            element.append("[Child.a]")

    assert body_of(Base, b"<p>x</p>", chunks=chunks) == b"<p>x[Base.a][Base.b]</p>"
    assert body_of(Child, b"<p>x</p>", chunks=chunks) == b"<p>x[Base.b][Child.a]</p>"


def test_a_bad_selector_is_refused_when_the_filter_is_built():
    class Bad(Rewriter):
        @on("p[[")
        def p(self, element, environ):
            pass

    with pytest.raises(ValueError, match=r"Bad\.p: the engine cannot match the selector 'p\[\['"):
        Bad()


@pytest.mark.parametrize("selector", ["li + li", "li ~ li", ":root", "p:has(a)"])
def test_a_selector_the_engine_does_not_support_is_refused_naming_the_handler(selector):
    class Nav(Rewriter):
        @on("a")
        def links(self, element, environ):
            pass

        @on(selector)
        def second(self, element, environ):
            pass

    with pytest.raises(ValueError, match=r"Nav\.second: the engine cannot match the selector " + re.escape(repr(selector))):
        Nav()


def test_decode_unicode_is_refused():
    with pytest.raises(ValueError, match="decode_unicode"):
        Tidy(decode_unicode=True)


def test_html_and_xhtml_are_filtered_other_types_pass():
    assert body_of(Tidy, b"<title>t</title>", content_type="application/xhtml+xml") == b"<title>T</title><!-- filtered -->"
    assert body_of(Tidy, b"<title>t</title>", content_type="text/plain") == b"<title>t</title>"


def test_malformed_html_is_read_as_browsers_do_and_passed_through():
    page = b"<p <<a></q><div><p>unclosed<b>x</p></i><<<<!--never closed"
    assert body_of(Tidy, page) == page + b"<!-- filtered -->"


def test_an_element_or_text_node_kept_past_its_handler_raises_instead_of_touching_the_engine():
    # The engine's object lives only for the call: used later it would crash the process,
    # kept (say, in an exception) it would be freed on another thread.
    kept = {}

    class Keeps(Rewriter):
        @on("p")
        def p(self, element, environ):
            kept["element"] = element

        @on.text("p")
        def text(self, text, environ):
            kept["text"] = text

        def end(self, document, environ):
            kept["document"] = document

    assert run_filter(Keeps, b"<p>x</p>")[2] == b"<p>x</p>"
    for name, use in [("element", lambda e: e.tag_name), ("text", lambda t: t.after("y")), ("document", lambda d: d.append("y"))]:
        with pytest.raises(RuntimeError, match="only be used in the handler"):
            use(kept[name])


def test_an_error_holding_the_element_fails_the_response_cleanly():
    class Fails(Rewriter):
        @on("p")
        def p(self, element, environ):
            try:
                raise KeyError("inner")
            except KeyError as exc:
                raise ValueError(element) from exc

    status, _, body = run_filter(Fails, b"<p>x</p>")
    assert (status, body) == (500, b"Internal Server Error\n")


def test_an_attribute_written_twice_is_one_attribute_as_browsers_keep_it():
    # HTML tokenizer: a duplicate attribute is dropped; removing the name must not bring the copy back.
    seen = {}

    class Strip(Rewriter):
        @on("p")
        def p(self, element, environ):
            seen["attributes"] = element.attributes
            element.remove_attribute("onclick")
            seen["after"] = (element.has_attribute("onclick"), element.get_attribute("onclick"))

    body = run_filter(Strip, b'<p onclick="track()" ONCLICK="evil()" id=x>t</p>')[2]
    assert seen == {"attributes": [("onclick", "track()"), ("id", "x")], "after": (False, None)}
    assert body == b"<p id=x>t</p>"


def test_replace_writes_its_content_whatever_the_other_selectors_look_like():
    class Two(Rewriter):
        @on('a[title="x')  # an unterminated string the engine closes: no part of another selector
        def a(self, element, environ):
            pass

        @on("b")
        def b(self, element, environ):
            element.replace("R")

    assert run_filter(Two, b"<b>x</b><p>y</p>")[2] == b"R<p>y</p>"
