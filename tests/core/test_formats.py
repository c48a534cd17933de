"""Formats: bodies as lxml trees or Python objects, and back."""

from __future__ import annotations

import importlib.metadata

import pytest

from dualfilter import Filter, Format, formats

from .conftest import drive


class AddRel(Filter):
    format_output = "lxml.etree"

    def filter(self, environ, headers, data):
        for link in data.iter("a"):
            link.set("rel", "nofollow")
        return data


class AddField(Filter):
    format = "json"

    def filter(self, environ, headers, data):
        data["added"] = 1
        return data


def ct(value):
    return [("Content-Type", value)]


def test_lxml_html_round_trips_keeping_the_doctype():
    page = b'<!DOCTYPE html>\n<html><head><title>t</title></head><body><a href="/x">x</a></body></html>'
    out = drive(AddRel(), [page])[3]
    assert out == page.replace(b'href="/x"', b'href="/x" rel="nofollow"')


def test_lxml_html_writes_back_in_the_documents_charset():
    page = '<html><head><meta charset="iso-8859-1"></head><body><a>caf\u00e9</a></body></html>'.encode("latin-1")
    headers, out = drive(AddRel(), [page], headers=ct("text/html"))[2:]
    assert "caf\u00e9".encode("latin-1") in out
    assert ("Content-Type", "text/html; charset=iso-8859-1") in headers


def test_lxml_xml_round_trips_keeping_declaration_doctype_and_encoding():
    doc = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<!DOCTYPE r SYSTEM \"r.dtd\">\n<r><a>\xe9</a></r>"
    out = drive(AddRel(), [doc], headers=ct("application/xml"))[3]
    assert out == doc.replace(b"<a>", b'<a rel="nofollow">')


def test_format_output_picks_the_xml_parser_for_xml_and_the_html_parser_for_html():
    xml = drive(AddRel(), [b"<r><A/><a/></r>"], headers=ct("application/atom+xml"))[3]
    html = drive(AddRel(), [b"<p><A>x</A></p>"], headers=ct("text/html"))[3]
    assert b'<A/><a rel="nofollow"/>' in xml  # XML is case-sensitive
    assert b'<a rel="nofollow">x</a>' in html  # HTML is not


def test_format_by_name_forces_that_format():
    class Html(AddRel):
        format = "lxml_html"
        filter_content_types = ("text/plain",)

    assert b'rel="nofollow"' in drive(Html(), [b"<a>x</a>"], headers=ct("text/plain"))[3]


def test_json_round_trips():
    assert drive(AddField(), [b'{"a": [1, 2]}'], headers=ct("application/json"))[3] == b'{"a":[1,2],"added":1}'


def test_json_keeps_unicode_as_utf8():
    assert (
        drive(AddField(), ['{"n": "caf\u00e9"}'.encode()], headers=ct("application/json"))[3]
        == '{"n":"caf\u00e9","added":1}'.encode()
    )


def test_json_in_utf16_is_detected():
    assert drive(AddField(), ['{"a": 1}'.encode("utf-16")], headers=ct("application/json"))[3] == b'{"a":1,"added":1}'


class Identity(Filter):
    format = "json"

    def filter(self, environ, headers, data):
        return data


@pytest.mark.parametrize(
    "number",
    [
        *(b"1234567890.123456789", b"1e-400", b"1.10", b"1E2", b"1e400", b"-1E+400", b"0.00001", b"-0"),
        pytest.param(b"1" * 4301, id="4301-digits"),
        pytest.param(b"-" + b"9" * 5000, id="minus-5000-digits"),
    ],
)
def test_a_json_number_the_filter_leaves_alone_is_written_as_it_came(number):
    assert drive(Identity(), [b"[" + number + b"]"], headers=ct("application/json"))[1:4:2] == (200, b"[" + number + b"]")
    assert drive(AddField(), [b'{"n": ' + number + b"}"], headers=ct("application/json"))[3] == b'{"n":' + number + b',"added":1}'


def test_a_kept_json_number_the_filter_moves_is_written_as_it_came():
    class Move(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            return {"moved": [data.pop("x")], **data}

    assert drive(Move(), [b'{"x": 1.10, "y": 2}'], headers=ct("application/json"))[3] == b'{"moved":[1.10],"y":2}'


def test_kept_json_numbers_in_dict_and_list_subclasses_are_written_as_they_came():
    from collections import OrderedDict, defaultdict

    class Sort(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            grouped = defaultdict(list, {"all": data["items"]})
            return OrderedDict(sorted({**data, "grouped": grouped}.items()))

    body = b'{"price": 1.10, "big": 1e400, "items": [100.00, -0]}'
    out = drive(Sort(), [body], headers=ct("application/json"))[3]
    assert out == b'{"big":1e400,"grouped":{"all":[100.00,-0]},"items":[100.00,-0],"price":1.10}'


def test_arithmetic_on_kept_json_numbers_gives_plain_numbers():
    class Add(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            return {key: value + 1 for key, value in data.items()}

    body = drive(Add(), [b'{"a": 1.10, "b": 1E2, "c": -0, "d": 1e-400}'], headers=ct("application/json"))[3]
    assert body == b'{"a":2.1,"b":101.0,"c":1,"d":1.0}'


def test_an_integer_beyond_pythons_digit_limit_reaches_the_filter_as_its_text():
    seen = []

    class Look(Identity):
        def filter(self, environ, headers, data):
            seen.append(data["n"])
            return data

    digits = "7" * 4301
    drive(Look(), [f'{{"n": {digits}}}'.encode()], headers=ct("application/json"))
    assert [type(n).__name__ for n in seen] == ["LongInteger"] and seen[0].text == digits


def test_a_json_number_the_filter_makes_infinite_gives_a_500(caplog):
    class Double(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            data["big"] *= 2
            return data

    assert drive(Double(), [b'{"big": 1e400}'], headers=ct("application/json"))[1] == 500
    assert "Out of range float values are not JSON compliant" in caplog.text


def test_lxml_html_reads_the_void_elements_libxml2_predates_as_browsers_do():
    # <source>, <track>, <wbr>, <embed>: libxml2 took what follows for their content, so
    # dropping a <source> of a <picture> took the <img> with it.
    class DropWebp(Filter):
        format = "lxml_html"

        def filter(self, environ, headers, data):
            assert [img.get("src") for img in data.xpath("//picture/img")] == ["a.png"]
            for source in data.xpath('//source[@type="image/webp"]'):
                source.drop_tree()
            return data

    page = (
        b'<html><body><picture><source type="image/webp" srcset="a.webp"><img src="a.png"></picture>'
        b"<video><source src=v.mp4><track src=t.vtt>fallback</video>a<wbr>b<p>text</p></body></html>"
    )
    out = drive(DropWebp(), [page], headers=ct("text/html"))[3]
    assert b'<picture><img src="a.png"></picture>' in out
    assert b'<track src="t.vtt"></track>fallback</video>a<wbr></wbr>b<p>text</p>' in out


def test_json_of_only_white_space_passes_as_it_came():
    class Touch(Filter):
        format = "json"

        def filter(self, environ, headers, data):
            return {"touched": True}

    assert drive(Touch(), [b"  \n"], headers=ct("application/json"))[1:4:2] == (200, b"  \n")


def test_malformed_json_gives_a_500(caplog):
    assert drive(AddField(), [b"{nope"], headers=ct("application/json"))[1] == 500
    assert "not valid JSON" in caplog.text


def test_malformed_xml_gives_a_500(caplog):
    assert drive(AddRel(), [b"<r><unclosed></r>"], headers=ct("application/xml"))[1] == 500
    assert "not well-formed XML" in caplog.text


def test_a_format_filter_returning_the_wrong_type_gives_a_500(caplog):
    class Wrong(AddRel):
        def filter(self, environ, headers, data):
            return 42

    assert drive(Wrong(), [b"<p>x</p>"])[1] == 500
    assert "expected an lxml element" in caplog.text


def test_a_format_filter_may_return_final_bytes():
    class Raw(AddRel):
        def filter(self, environ, headers, data):
            return b"done"

    assert drive(Raw(), [b"<p>x</p>"])[3] == b"done"


def test_an_empty_body_is_not_handed_to_a_format_filter():
    machine, status, headers, body = drive(AddField(), [], headers=ct("application/json"))
    assert (status, body, machine.error) == (200, b"", None)


@pytest.mark.parametrize(
    "page", [b"\n", b" \r\n\t", b"<!DOCTYPE html>\n", b"<!doctype html>", b'<?xml version="1.0"?>\n<!DOCTYPE html>\n']
)
def test_an_html_page_of_only_white_space_and_a_doctype_passes_unchanged(page):
    machine, status, headers, body = drive(AddRel(), [page], headers=ct("text/html; charset=utf-8"))
    assert (status, body, machine.error) == (200, page, None)
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("page", [b"\n", b" \r\n\t "])
def test_an_xml_body_of_only_white_space_passes_unchanged(page):
    machine, status, headers, body = drive(AddRel(), [page], headers=ct("application/xml"))
    assert (status, body, machine.error) == (200, page, None)


def test_format_output_without_a_format_for_the_media_type_gives_a_500(caplog):
    flt = AddRel(filter_content_types=("text/plain",))
    assert drive(flt, [b"x"], headers=ct("text/plain"))[1] == 500
    assert "no format gives 'lxml.etree' for text/plain" in caplog.text


class Lines(Format):
    """A test format: text/csv as a list of lines."""

    name = "lines"
    media_types = ("text/csv",)
    output_type = "lines"

    def parse(self, data, declared, media_type):
        return data.decode().splitlines(), None

    def serialize(self, value, charset, media_type, output_encoding):
        return "\n".join(value).encode(), None


def test_a_registered_format_is_usable_by_name():
    formats.register(Lines)

    class Reverse(Filter):
        format = "lines"

        def filter(self, environ, headers, data):
            return data[::-1]

    assert drive(Reverse(), [b"a\nb"], headers=ct("text/csv"))[3] == b"b\na"


def published(monkeypatch, name, fmt):
    """``fmt`` published as entry point ``name`` of the ``dualfilter.formats`` group (and
    nothing else), the entry points not read yet and the registry restored afterwards."""

    class EntryPoint:
        value = f"tests:{fmt.__name__}"

        def load(self):
            return fmt

    point = EntryPoint()
    point.name = name

    def entry_points(group):
        assert group == "dualfilter.formats"
        return [point]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(formats, "_entry_points_loaded", False)
    monkeypatch.setattr(formats, "_registry", dict(formats._registry))


def test_formats_are_loaded_from_the_entry_point_group(monkeypatch):
    class Ini(Lines):
        name = "ini-lines"

    published(monkeypatch, "ini-lines", Ini)
    assert isinstance(formats.get("ini-lines"), Ini)


def test_an_entry_point_format_is_known_by_the_entry_points_name(monkeypatch):
    class Unnamed(Lines):
        name = ""

    published(monkeypatch, "nn", Unnamed)
    assert isinstance(formats.get("nn"), Unnamed)


def test_an_entry_point_cannot_replace_a_built_in_format(monkeypatch):
    class Impostor(Lines):
        name = "json"

    published(monkeypatch, "json", Impostor)
    formats.registered()
    assert not isinstance(formats.get("json"), Impostor)


def test_an_unknown_format_name_lists_the_known_ones():
    with pytest.raises(LookupError, match="known: .*json.*lxml_html"):
        formats.get("nope")


def test_lxml_html_adds_no_doctype_to_a_page_that_had_none():
    out = drive(AddRel(), [b"<html><body><a>x</a></body></html>"])[3]
    assert out == b'<html><body><a rel="nofollow">x</a></body></html>'


class MarkRoot(Filter):
    format = "lxml_xml"

    def filter(self, environ, headers, data):
        data.set("seen", "1")
        return data


@pytest.mark.parametrize("label", ["euc-kr", "iso-2022-jp", "windows-874", "macintosh"])
def test_xml_in_a_charset_the_content_type_names_is_read_and_written_back_in_it(label):
    # Labels of the Encoding standard that libxml2 knows by other names, or not at all.
    codec = {"euc-kr": "euc_kr", "iso-2022-jp": "iso2022_jp", "windows-874": "cp874", "macintosh": "mac_roman"}[label]
    text = {"euc-kr": "\uac00", "iso-2022-jp": "\u3042", "windows-874": "\u0e01", "macintosh": "\u00e9"}[label]
    page = f'<?xml version="1.0" encoding="{label}"?><a>{text}</a>'.encode(codec)
    _, status, headers, body = drive(MarkRoot(), [page], headers=ct(f"application/xml; charset={label}"))
    assert status == 200 and body.decode(codec).endswith(f'<a seen="1">{text}</a>')


@pytest.mark.parametrize("where", ["<!-- 10{c}20 -->", "<?note 10{c}20?>", "<x{c}y>1</x{c}y>"], ids=["comment", "pi", "name"])
def test_xml_keeps_what_its_charset_held_as_browsers_read_it_where_xml_has_no_character_references(where):
    # Shift_JIS read as browsers read it (Windows-31J): U+FF5E at 0x8160, which libxml2's own
    # SHIFT_JIS lacks. Written back in the page's charset, never as a reference: none is
    # read as one in a comment or a PI, and a name cannot hold one.
    import lxml.etree

    page = f"<a>{where.format(c=chr(0xFF5E))}</a>".encode("cp932")
    _, status, headers, body = drive(MarkRoot(), [page], headers=ct("application/xml; charset=shift_jis"))
    assert status == 200 and dict(headers)["Content-Type"] == "application/xml; charset=shift_jis"
    assert b"&#" not in body and page[3:] in body
    lxml.etree.fromstring(body)  # well-formed


def test_xml_whose_latin1_label_cannot_hold_what_browsers_read_leaves_as_utf8_saying_so():
    # Bytes 0x80-0x9F under an iso-8859-1 label are windows-1252 to browsers (0x80: the euro
    # sign), which the label itself cannot write back: the document leaves as UTF-8,
    # declared so in its XML declaration and its Content-Type.
    _, status, headers, body = drive(MarkRoot(), [b"<a><!-- 5\x80 --><x\x8a/></a>"], headers=ct("text/xml; charset=iso-8859-1"))
    assert dict(headers)["Content-Type"] == "text/xml; charset=utf-8"
    assert body == "<?xml version='1.0' encoding='utf-8'?>\n<a seen=\"1\"><!-- 5\u20ac --><x\u0160/></a>".encode()


def test_xml_written_back_in_its_own_declarations_charset_declares_that_label():
    page = '<?xml version="1.0" encoding="euc-kr"?><a>\uac00</a>'.encode("euc_kr")
    _, status, headers, body = drive(MarkRoot(), [page], headers=ct("application/xml"))
    assert dict(headers)["Content-Type"] == "application/xml; charset=euc-kr"


@pytest.mark.parametrize(
    ("mark", "codec", "content_type"),
    [
        (b"\xef\xbb\xbf", "utf-8", "application/xml; charset=iso-8859-1"),
        (b"\xfe\xff", "utf-16-be", "application/xml; charset=utf-8"),
        (b"\xff\xfe", "utf-16-le", "text/xml; charset=windows-1252"),
        (b"\xef\xbb\xbf", "utf-8", "application/xhtml+xml; charset=iso-8859-1"),
    ],
)
def test_xml_with_a_byte_order_mark_is_read_and_written_in_the_marks_charset_whatever_the_header_says(mark, codec, content_type):
    page = mark + '<html xmlns="http://www.w3.org/1999/xhtml"><a>caf\u00e9 \u2192</a></html>'.encode(codec)
    _, status, headers, body = drive(MarkRoot(), [page], headers=ct(content_type))
    assert status == 200
    assert body.startswith(mark)
    assert body[len(mark) :].decode(codec).endswith('seen="1"><a>caf\u00e9 \u2192</a></html>')
    assert dict(headers)["Content-Type"] == content_type  # the mark decides for the reader: the header stays


def test_xml_keeps_its_standalone_declaration():
    page = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE a SYSTEM "a.dtd">\n<a/>'
    body = drive(MarkRoot(), [page], headers=ct("application/xml"))[3]
    assert body == b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<!DOCTYPE a SYSTEM \"a.dtd\">\n<a seen=\"1\"/>"


XHTML_DOCTYPE = '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'


class MarkXHTML(MarkRoot):
    format = None
    format_output = "lxml.etree"  # lxml_html for XHTML, lxml_xml for XML


@pytest.mark.parametrize("content_type", ["application/xhtml+xml", "application/xml", "application/xml; charset=iso-8859-1"])
def test_an_xhtml_page_gets_no_element_the_filter_did_not_add(content_type):
    # libxml2 writes a document with an XHTML doctype in an XHTML mode that adds a
    # <meta http-equiv="Content-Type"> to its head: the page is written as the XML it is.
    page = (
        f'<?xml version="1.0" encoding="iso-8859-1"?>\n{XHTML_DOCTYPE}\n<!-- before --><html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><meta charset='iso-8859-1'/><title>caf\u00e9</title></head><body><p>x</p></body></html><!-- after -->"
    ).encode("latin-1")
    _, status, headers, body = drive(MarkXHTML(), [page], headers=ct(content_type))
    assert status == 200 and b"http-equiv" not in body
    assert body == (
        f"<?xml version='1.0' encoding='iso-8859-1'?>\n{XHTML_DOCTYPE}\n<!-- before --><html "
        'xmlns="http://www.w3.org/1999/xhtml" seen="1"><head><meta charset="iso-8859-1"/><title>caf\u00e9</title>'
        "</head><body><p>x</p></body></html><!-- after -->"
    ).encode("latin-1")


def test_json_holding_an_escaped_lone_surrogate_is_written_back_escaped():
    body = drive(AddField(), [b'{"half": "\\ud83d", "n": "caf\\u00e9"}'], headers=ct("application/json"))[3]
    assert body == b'{"half":"\\ud83d","n":"caf\\u00e9","added":1}'


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body>" + b"<div>" * 300 + b"deep" + b"</div>" * 300 + b"<p>footer</p></body></html>",
        b"<html><body><p>" + b"x" * 11_000_000 + b"</p><p>after</p></body></html>",
    ],
    ids=["nesting", "huge-text"],
)
def test_html_past_the_parsers_limits_is_the_clean_500_not_a_page_cut_short(page):
    # libxml2 stops at its limits without raising: the rest of the page would be lost without a word.
    _, status, _, body = drive(AddRel(), [page], headers=ct("text/html"))
    assert status == 500 and body == b"Internal Server Error\n"


def test_a_format_whose_serialize_gives_no_bytes_is_the_clean_500():
    class Broken(Format):
        name = "broken-text"
        media_types = ("text/x-broken",)

        def parse(self, data, declared, media_type):
            return data.decode(), None

        def serialize(self, value, charset, media_type, output_encoding):
            return value, None  # str: not what a format writes

    class UsesIt(Filter):
        format = Broken()

        def filter(self, environ, headers, data):
            return data + "!"

    _, status, _, body = drive(UsesIt(), [b"x"], headers=ct("text/x-broken"))
    assert (status, body) == (500, b"Internal Server Error\n")


def test_a_format_filter_that_declares_another_charset_gets_its_document_written_in_it():
    class ToUTF8(AddRel):
        def filter(self, environ, headers, data):
            headers["Content-Type"] = "text/html; charset=utf-8"
            return super().filter(environ, headers, data)

    page = "<html><body><p>\u0141\u00f3d\u017a</p></body></html>"
    _, status, headers, body = drive(ToUTF8(), [page.encode("iso-8859-2")], headers=ct("text/html; charset=iso-8859-2"))
    assert status == 200 and "\u0141\u00f3d\u017a" in body.decode("utf-8")
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_json_is_read_from_its_bytes_whatever_a_charset_parameter_says():
    # RFC 8259 section 11: the charset parameter has no effect; clients read UTF-8.
    latin = ct("application/json; charset=iso-8859-1")
    _, status, headers, body = drive(AddField(), ['{"n": "caf\u00e9"}'.encode()], headers=latin)
    assert body == '{"n":"caf\u00e9","added":1}'.encode()
    assert dict(headers)["Content-Type"] == "application/json; charset=utf-8"


def test_an_lxml_html_fragment_is_written_back_as_the_fragment_it_came_as():
    class Mark(Filter):
        format = "lxml_html"

        def filter(self, environ, headers, data):
            for link in data.iter("a"):
                link.set("rel", "x")
            return data

    cases = {
        b'<tr><td><a href="/app/1">1</a></td></tr>': b'<tr><td><a href="/app/1" rel="x">1</a></td></tr>',
        b"lead <div class=a>x</div>tail": b'lead <div class="a">x</div>tail',
        b"<!-- c --><title>t</title><p>one</p><!-- after -->": b"<!-- c --><title>t</title><p>one</p><!-- after -->",
        b"<!DOCTYPE html><p>doc</p>": b"<!DOCTYPE html>\n<html><body><p>doc</p></body></html>",  # a document stays one
        b"<body><p>doc</p>": b"<html><body><p>doc</p></body></html>",
        # A tag named in a comment or a script's text is no tag: still a fragment.
        b"<i><!-- into <body> --><a href=/x>1</a></i>": b'<i><!-- into <body> --><a href="/x" rel="x">1</a></i>',
        b'<i><script>f("<head>")</script><a href=/y>2</a></i>': b'<i><script>f("<head>")</script><a href="/y" rel="x">2</a></i>',
        b"<title>a <html> page</title><p>x</p>": b"<title>a &lt;html&gt; page</title><p>x</p>",
    }
    for page, expected in cases.items():
        assert drive(Mark(), [page], headers=ct("text/html"))[3] == expected
