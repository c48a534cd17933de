"""XSLT: a stylesheet, parsed safely and compiled once, applied to XML and HTML responses."""

from __future__ import annotations

import logging
import threading

import pytest

from dualfilter.filters import XSLT
from dualfilter.headers import get_header
from dualfilter.testing import run_filter

XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
TO_HTML = f"""<xsl:stylesheet version="1.0" {XSL}>
  <xsl:template match="/"><html><body><h1><xsl:value-of select="/doc/title"/></h1></body></html></xsl:template>
</xsl:stylesheet>"""
DOC = b"<doc><title>Hello</title></doc>"


@pytest.fixture
def stylesheet(tmp_path):
    """Write a stylesheet to a file and return its path."""

    def write(text: str, name: str = "style.xsl") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def test_xml_is_transformed_to_html_with_a_text_html_content_type(stylesheet):
    _, headers, body = run_filter(XSLT(stylesheet=stylesheet(TO_HTML)), DOC, content_type="application/xml")
    assert body == b"<html><body><h1>Hello</h1></body></html>\n"
    assert get_header(headers, "content-type") == "text/html; charset=utf-8"


@pytest.mark.parametrize("chunks", [2, 9])
def test_transformation_does_not_depend_on_chunking(stylesheet, chunks):
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(TO_HTML)), DOC, content_type="application/xml", chunks=chunks)
    assert body == b"<html><body><h1>Hello</h1></body></html>\n"


def test_xml_output_keeps_the_response_media_type(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="xml"/>
      <xsl:template match="/"><t><xsl:value-of select="/doc/title"/></t></xsl:template></xsl:stylesheet>"""
    _, headers, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="text/xml")
    assert body == b'<?xml version="1.0"?>\n<t>Hello</t>\n'
    assert get_header(headers, "content-type") == "text/xml; charset=utf-8"


def test_output_media_type_sets_the_content_type(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="xml" media-type="application/atom+xml"/>
      <xsl:template match="/"><feed/></xsl:template></xsl:stylesheet>"""
    _, headers, _ = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert get_header(headers, "content-type") == "application/atom+xml; charset=utf-8"


def test_a_media_type_with_parameters_gets_one_charset_the_outputs(stylesheet):
    # XSLT 1.0 section 16: media-type is a content type, and may carry parameters.
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="xml" encoding="iso-8859-1"
      media-type="text/xml; charset=utf-8; profile=feed"/><xsl:template match="/"><feed/></xsl:template></xsl:stylesheet>"""
    _, headers, _ = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert get_header(headers, "content-type") == "text/xml; charset=iso-8859-1; profile=feed"


def test_text_output_is_text_plain(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/">Title: <xsl:value-of select="/doc/title"/></xsl:template></xsl:stylesheet>"""
    _, headers, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert body == b"Title: Hello"
    assert get_header(headers, "content-type") == "text/plain; charset=utf-8"


def test_output_encoding_is_used_and_declared(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text" encoding="ISO-8859-1"/>
      <xsl:template match="/"><xsl:value-of select="/doc/title"/></xsl:template></xsl:stylesheet>"""
    data = "<doc><title>café</title></doc>".encode()
    _, headers, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), data, content_type="application/xml")
    assert body == "café".encode("iso-8859-1")
    assert get_header(headers, "content-type") == "text/plain; charset=iso-8859-1"


def test_html_responses_are_transformed(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/"><xsl:value-of select="//h1"/></xsl:template></xsl:stylesheet>"""
    data = b"<!DOCTYPE html><html><body><h1>Head<br>line</h1></body></html>"
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), data, content_type="text/html")
    assert body == b"Headline"


def test_input_in_a_declared_charset_is_read_right(stylesheet):
    data = '<?xml version="1.0" encoding="iso-8859-1"?><doc><title>é</title></doc>'.encode("iso-8859-1")
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(TO_HTML)), data, content_type="application/xml")
    assert body == "<html><body><h1>é</h1></body></html>\n".encode()


def test_other_content_types_pass_through(stylesheet):
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(TO_HTML)), DOC, content_type="text/plain")
    assert body == DOC


def test_stylesheet_is_compiled_once_at_construction(stylesheet, tmp_path):
    flt = XSLT(stylesheet=stylesheet(TO_HTML))
    (tmp_path / "style.xsl").write_text("not a stylesheet any more")
    for _ in range(2):
        assert run_filter(flt, DOC, content_type="application/xml")[2] == b"<html><body><h1>Hello</h1></body></html>\n"


def test_one_filter_serves_concurrent_threads(stylesheet):
    flt = XSLT(stylesheet=stylesheet(TO_HTML))
    results: list[bytes] = []

    def work(n: int) -> None:
        results.append(run_filter(flt, f"<doc><title>{n}</title></doc>".encode(), content_type="application/xml")[2])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(f"<html><body><h1>{n}</h1></body></html>\n".encode() for n in range(8))


def test_xsl_import_is_resolved_relative_to_the_stylesheet(stylesheet):
    stylesheet(
        f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/">imported</xsl:template></xsl:stylesheet>""",
        "base.xsl",
    )
    main = stylesheet(f"""<xsl:stylesheet version="1.0" {XSL}><xsl:import href="base.xsl"/></xsl:stylesheet>""")
    assert run_filter(XSLT(stylesheet=main), DOC, content_type="application/xml")[2] == b"imported"


def test_external_entities_in_the_stylesheet_are_not_expanded(stylesheet, tmp_path):
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    xsl = f"""<?xml version="1.0"?><!DOCTYPE xsl:stylesheet [<!ENTITY x SYSTEM "secret.txt">]>
      <xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/">[&x;]</xsl:template></xsl:stylesheet>"""
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert b"TOPSECRET" not in body


def test_the_stylesheet_cannot_read_from_the_network(stylesheet, caplog):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/"><xsl:value-of select="document('http://127.0.0.1:9/x.xml')"/></xsl:template>
      </xsl:stylesheet>"""
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        status, _, _ = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert status == 500
    assert "denied" in caplog.text


def test_a_terminating_xsl_message_gives_a_500(stylesheet, caplog):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}>
      <xsl:template match="/"><xsl:message terminate="yes">no title</xsl:message></xsl:template></xsl:stylesheet>"""
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        status, _, _ = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert status == 500
    assert "no title" in caplog.text


def test_a_missing_stylesheet_file_is_refused_at_construction(tmp_path):
    missing = tmp_path / "nope.xsl"
    with pytest.raises(ValueError, match=r"cannot read stylesheet .*nope\.xsl.*No such file"):
        XSLT(stylesheet=str(missing))


def test_a_stylesheet_that_is_not_xml_is_refused_at_construction(stylesheet):
    with pytest.raises(ValueError, match="not well-formed XML"):
        XSLT(stylesheet=stylesheet("<xsl:stylesheet"))


def test_xml_that_is_not_xslt_is_refused_at_construction(stylesheet):
    with pytest.raises(ValueError, match="not valid XSLT"):
        XSLT(stylesheet=stylesheet("<doc/>"))


def test_a_filter_without_stylesheet_is_refused_at_construction():
    with pytest.raises(ValueError, match="needs the stylesheet option"):
        XSLT()


def test_a_parsed_stylesheet_document_is_accepted():
    import lxml.etree

    flt = XSLT(stylesheet=lxml.etree.XML(TO_HTML))
    assert run_filter(flt, DOC, content_type="application/xml")[2] == b"<html><body><h1>Hello</h1></body></html>\n"


def test_a_new_stylesheet_at_the_same_path_or_a_new_import_makes_a_new_validator_token(stylesheet):
    # A derived ETag must not confirm a page transformed by the stylesheet before a deploy.
    base = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
      <xsl:template match="/">{{}}</xsl:template></xsl:stylesheet>"""
    stylesheet(base.format("one"), "base.xsl")
    main = stylesheet(f"""<xsl:stylesheet version="1.0" {XSL}><xsl:import href="base.xsl"/></xsl:stylesheet>""")
    first = XSLT(stylesheet=main, force_no_conditional=False).etag_token
    assert XSLT(stylesheet=main, force_no_conditional=False).etag_token == first  # the same files: the same token
    stylesheet(base.format("two"), "base.xsl")
    imported = XSLT(stylesheet=main, force_no_conditional=False).etag_token
    stylesheet(f"""<xsl:stylesheet version="1.0" {XSL}><xsl:import href="base.xsl"/><!-- v2 --></xsl:stylesheet>""")
    rewritten = XSLT(stylesheet=main, force_no_conditional=False).etag_token
    assert len({first, imported, rewritten}) == 3


def test_without_an_output_method_text_before_an_html_root_makes_it_xml(stylesheet):
    # XSLT 1.0 section 16: html is the default only if nothing but white space precedes the <html> root.
    path = stylesheet(
        f"""<xsl:stylesheet version="1.0" {XSL}>
      <xsl:template match="/">Report<html><body><xsl:value-of select="/doc/title"/></body></html></xsl:template>
    </xsl:stylesheet>"""
    )
    status, headers, body = run_filter(XSLT(stylesheet=path), DOC, content_type="application/xml")
    assert body.startswith(b"<?xml") and dict(headers)["Content-Type"] == "application/xml; charset=utf-8"


def test_the_content_type_follows_an_xsl_output_the_stylesheet_imports(stylesheet):
    # XSLT 1.0 section 16: xsl:output elements are merged, imported ones included.
    common = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text" encoding="ISO-8859-1"/></xsl:stylesheet>"""
    stylesheet(common, "common.xsl")
    main = stylesheet(
        f"""<xsl:stylesheet version="1.0" {XSL}><xsl:import href="common.xsl"/>
      <xsl:template match="/">caf\u00e9</xsl:template></xsl:stylesheet>"""
    )
    status, headers, body = run_filter(XSLT(stylesheet=main), DOC, content_type="application/xml")
    assert (body, dict(headers)["Content-Type"]) == ("caf\u00e9".encode("iso-8859-1"), "text/plain; charset=iso-8859-1")


def test_a_stylesheet_path_may_be_given_as_bytes_and_nothing_else_that_is_no_path(tmp_path):
    path = tmp_path / "s.xsl"
    path.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template match="/"><out/></xsl:template></xsl:stylesheet>'
    )
    assert XSLT(stylesheet=bytes(path)).stylesheet == bytes(path)
    with pytest.raises(TypeError, match="stylesheet must be a path"):
        XSLT(stylesheet=5)


def test_entities_the_stylesheet_declares_are_written(stylesheet):
    xsl = f"""<!DOCTYPE xsl:stylesheet [<!ENTITY nbsp "&#160;"><!ENTITY copy "&#169;">]>
      <xsl:stylesheet version="1.0" {XSL}><xsl:output method="html"/>
      <xsl:template match="/"><p>a&nbsp;b &copy; 2024</p></xsl:template></xsl:stylesheet>"""
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), DOC, content_type="application/xml")
    assert body == "<p>a\u00a0b \u00a9 2024</p>\n".encode()


def test_internal_entities_of_the_response_are_copied_expanded(stylesheet):
    xsl = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="xml" omit-xml-declaration="yes"/>
      <xsl:template match="/"><xsl:copy-of select="/doc/title"/></xsl:template></xsl:stylesheet>"""
    data = b'<!DOCTYPE doc [<!ENTITY product "Widget Pro">]><doc><title>About &product; v2</title></doc>'
    _, _, body = run_filter(XSLT(stylesheet=stylesheet(xsl)), data, content_type="application/xml")
    assert body == b"<title>About Widget Pro v2</title>\n"


TEXT_OF_E = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
  <xsl:template match="/">[&e;]</xsl:template></xsl:stylesheet>"""


@pytest.mark.parametrize("how", ["import", "include"])
def test_a_stylesheet_it_imports_or_includes_reads_no_file_through_an_external_entity(stylesheet, tmp_path, how):
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    stylesheet(f'<!DOCTYPE xsl:stylesheet [<!ENTITY e SYSTEM "secret.txt">]>{TEXT_OF_E}', "imported.xsl")
    main = stylesheet(f'<xsl:stylesheet version="1.0" {XSL}><xsl:{how} href="imported.xsl"/></xsl:stylesheet>')
    assert run_filter(XSLT(stylesheet=main), DOC, content_type="application/xml")[2] == b"[]"


def test_a_stylesheet_it_includes_loads_no_dtd(stylesheet, tmp_path):
    (tmp_path / "defs.dtd").write_text('<!ENTITY e "FROM-THE-DTD">')
    stylesheet(f'<!DOCTYPE xsl:stylesheet SYSTEM "defs.dtd">{TEXT_OF_E}', "included.xsl")
    main = stylesheet(f'<xsl:stylesheet version="1.0" {XSL}><xsl:include href="included.xsl"/></xsl:stylesheet>')
    assert run_filter(XSLT(stylesheet=main), DOC, content_type="application/xml")[2] == b"[]"


def test_an_imported_stylesheets_internal_entities_are_expanded(stylesheet):
    stylesheet(f'<!DOCTYPE xsl:stylesheet [<!ENTITY e "internal">]>{TEXT_OF_E}', "imported.xsl")
    main = stylesheet(f'<xsl:stylesheet version="1.0" {XSL}><xsl:import href="imported.xsl"/></xsl:stylesheet>')
    assert run_filter(XSLT(stylesheet=main), DOC, content_type="application/xml")[2] == b"[internal]"


READ_DATA = f"""<xsl:stylesheet version="1.0" {XSL}><xsl:output method="text"/>
  <xsl:template match="/">[<xsl:value-of select="document('data.xml')/r"/>]</xsl:template></xsl:stylesheet>"""


def test_a_file_read_by_document_reads_no_file_through_an_external_entity(stylesheet, tmp_path):
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    (tmp_path / "data.xml").write_text('<!DOCTYPE r [<!ENTITY e SYSTEM "secret.txt">]><r>&e;</r>')
    assert run_filter(XSLT(stylesheet=stylesheet(READ_DATA)), DOC, content_type="application/xml")[2] == b"[]"


def test_a_file_read_by_document_has_its_internal_entities_expanded(stylesheet, tmp_path):
    (tmp_path / "data.xml").write_text('<!DOCTYPE r [<!ENTITY e "Widget Pro">]><r>About &e;</r>')
    assert run_filter(XSLT(stylesheet=stylesheet(READ_DATA)), DOC, content_type="application/xml")[2] == b"[About Widget Pro]"


def test_an_import_from_the_network_is_refused_at_construction(stylesheet):
    main = stylesheet(f'<xsl:stylesheet version="1.0" {XSL}><xsl:import href="http://127.0.0.1:9/x.xsl"/></xsl:stylesheet>')
    with pytest.raises(ValueError, match=r"not valid XSLT: http://127\.0\.0\.1:9/x\.xsl is not a local file"):
        XSLT(stylesheet=main)


def test_a_parsed_stylesheet_document_imports_as_a_file_does(stylesheet, tmp_path):
    import lxml.etree

    (tmp_path / "secret.txt").write_text("TOPSECRET")
    stylesheet(f'<!DOCTYPE xsl:stylesheet [<!ENTITY e SYSTEM "secret.txt">]>{TEXT_OF_E}', "imported.xsl")
    main = stylesheet(f'<xsl:stylesheet version="1.0" {XSL}><xsl:import href="imported.xsl"/></xsl:stylesheet>')
    flt = XSLT(stylesheet=lxml.etree.parse(main))
    assert run_filter(flt, DOC, content_type="application/xml")[2] == b"[]"


def test_billion_laughs_in_a_file_read_by_document_gives_a_500_at_once(stylesheet, tmp_path, caplog):
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    (tmp_path / "data.xml").write_text(f'<!DOCTYPE r [<!ENTITY l0 "lol">{levels}]><r>&l9;</r>')
    assert run_filter(XSLT(stylesheet=stylesheet(READ_DATA)), DOC, content_type="application/xml")[0] == 500
    assert "Maximum entity amplification factor exceeded" in caplog.text
