"""Range and the conditional headers go before the site sees the request, as on every other host."""

from __future__ import annotations

import pytest
from filter_harness import UpperFilter, html

from dualfilter.isapi.constants import SF_NOTIFY_PREPROC_HEADERS
from dualfilter.isapi.testing import FilterHost
from dualfilter.validators import derive


def seen_headers(flt, headers, method="GET"):
    """The request headers the site saw, and its ECB's HTTP_RANGE."""
    seen = {}

    def site(ecb):
        seen["headers"] = dict(ecb.request.header_list())
        seen["range"] = ecb.GetServerVariable("HTTP_RANGE", None)
        return html()

    with FilterHost(flt) as iis:
        iis.request(method, response=site, headers=headers)
    return seen


def test_range_is_removed_before_the_site_sees_the_request():
    assert seen_headers(UpperFilter.isapi_filter(), [("Range", "bytes=0-5")])["range"] is None


def test_if_range_is_removed():
    assert "If-Range" not in seen_headers(UpperFilter.isapi_filter(), [("If-Range", '"v1"')])["headers"]


def test_range_and_if_range_are_removed_when_conditionals_are_allowed_too():
    seen = seen_headers(UpperFilter.isapi_filter(force_no_conditional=False), [("Range", "bytes=0-5"), ("If-Range", '"v1"')])
    assert seen["range"] is None and "If-Range" not in seen["headers"]


def test_if_modified_since_is_removed_by_default_and_when_conditionals_are_allowed():
    # A date cannot tell a filtered page from the site's own.
    for flt in (UpperFilter.isapi_filter(), UpperFilter.isapi_filter(force_no_conditional=False)):
        assert "If-Modified-Since" not in seen_headers(flt, [("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")])["headers"]


def test_if_none_match_is_removed_by_default():
    assert "If-None-Match" not in seen_headers(UpperFilter.isapi_filter(), [("If-None-Match", '"v1"')])["headers"]


def test_an_etag_from_before_the_filter_never_reaches_the_site_without_force_no_conditional():
    # IIS cannot be asked twice: the site's 304 to it could revalidate an unfiltered page.
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    assert "If-None-Match" not in seen_headers(flt, [("If-None-Match", '"v2"')])["headers"]


def test_a_derived_tag_is_shown_to_the_site_as_its_own():
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    derived = derive('"v1"', flt.filter.etag_token)
    seen = seen_headers(flt, [("If-None-Match", derived)])["headers"]["If-None-Match"]
    assert seen == '"v1"'


def test_other_headers_reach_the_site():
    assert seen_headers(UpperFilter.isapi_filter(), [("Accept", "text/html")])["headers"]["Accept"] == "text/html"


def test_strip_request_headers_false_leaves_range():
    flt = UpperFilter.isapi_filter(strip_request_headers=False)
    assert seen_headers(flt, [("Range", "bytes=0-5")])["range"] == b"bytes=0-5"


#: A valid range set (RFC 9110 section 14.1.1) longer than pywin32's 8 KiB GetHeader buffer.
LONG_RANGE = "bytes=0-4," + ",".join(f"{i}-{i}" for i in range(10, 1800))


def test_the_double_reads_a_header_as_pywin32_does_up_to_8_kib():
    got = {}

    class Probe:
        def GetFilterVersion(self, fv):
            fv.Flags = SF_NOTIFY_PREPROC_HEADERS

        def HttpFilterProc(self, fc):
            got["long"] = fc.GetData().GetHeader("Range:", None)
            got["short"] = fc.GetData().GetHeader("Accept:", None)

    with FilterHost(Probe()) as iis:
        iis.request(response=html(), headers=[("Range", LONG_RANGE), ("Accept", "text/html")])
    assert got == {"long": None, "short": b"text/html"}


def test_a_range_longer_than_pywin32_reads_is_removed_and_the_filtered_page_served():
    # Several ranges of a filtered page: the whole filtered page (the site's 206 would skip the filter).
    assert len(LONG_RANGE) > 8192
    assert seen_headers(UpperFilter.isapi_filter(), [("Range", LONG_RANGE)])["range"] is None
    with FilterHost(UpperFilter.isapi_filter()) as iis:
        response = iis.request(response=html(b"<p>hello world</p>"), headers=[("Range", LONG_RANGE)])
    assert (response.status, response.body) == (200, b"<P>HELLO WORLD</P>")


def test_a_derived_tag_in_a_long_if_none_match_is_shown_to_the_site_as_its_own():
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    others = ", ".join(f'"other-{i}"' for i in range(700))
    derived = derive('"v1"', flt.filter.etag_token)
    assert len(others) > 8192
    seen = seen_headers(flt, [("If-None-Match", f"{others}, {derived}")])["headers"]["If-None-Match"]
    assert seen == '"v1"'


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_any_tag_in_a_safe_requests_if_none_match_is_hidden_from_the_site(method):
    # The site's 304 to "*" names no type; a page the filter leaves alone would get a derived tag
    # in place of its own, and the filter cannot ask the site again: the site answers the page.
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    assert "If-None-Match" not in seen_headers(flt, [("If-None-Match", "*")], method=method)["headers"]


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
@pytest.mark.parametrize("force_no_conditional", [True, False])
def test_an_unsafe_request_keeps_its_preconditions(method, force_no_conditional):
    # RFC 9110 section 13.1.2: If-None-Match: * keeps a PUT from overwriting; its answer is never a
    # 206 or 304 of a page, so there is nothing to hide (the other hosts show it as sent).
    flt = UpperFilter.isapi_filter(force_no_conditional=force_no_conditional)
    sent = [("If-None-Match", "*"), ("If-Match", '"v1"'), ("If-Unmodified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")]
    seen = seen_headers(flt, sent, method=method)["headers"]
    assert (seen["If-None-Match"], seen["If-Match"]) == ("*", '"v1"')


def test_a_derived_tag_in_an_unsafe_requests_if_none_match_is_shown_as_the_sites_own():
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    derived = derive('"v1"', flt.filter.etag_token)
    seen = seen_headers(flt, [("If-None-Match", f'{derived}, "v2"')], method="PUT")["headers"]
    assert seen["If-None-Match"] == '"v1"'  # as every host shows it (validators.translate_if_none_match)


def _seen_if_none_match(flt, value):
    seen = {}

    def site(ecb):
        seen["inm"] = ecb.GetServerVariable("HTTP_IF_NONE_MATCH", None)
        return html()

    with FilterHost(flt) as iis:
        iis.request(response=site, headers=[("If-None-Match", value)])
    return seen["inm"]


def test_a_translated_tag_reaches_the_site_byte_for_byte_through_pywin32s_utf8():
    # SetHeader takes format "s": pywin32 hands IIS the str's UTF-8. The app's own tag in
    # UTF-8 (as the client sent it, read as latin-1) is set so that IIS gets those very bytes.
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    own = '"café"'.encode().decode("latin-1")
    assert _seen_if_none_match(flt, derive(own, flt.filter.etag_token)) == '"café"'.encode()


def test_a_translated_tag_no_str_can_give_is_taken_from_a_safe_request():
    # An opaque tag may hold any byte 0x80-0xFF; bytes that are no UTF-8 cannot go through
    # SetHeader: the header is taken away (the site answers 200, which is filtered), never
    # sent as other bytes the site would not know.
    flt = UpperFilter.isapi_filter(force_no_conditional=False)
    own = '"caf\xe9"'  # the byte 0xE9 alone, read as latin-1
    assert _seen_if_none_match(flt, derive(own, flt.filter.etag_token)) is None


def test_the_doubles_hand_iis_utf8_for_str_arguments():
    from dualfilter.isapi.constants import SF_NOTIFY_PREPROC_HEADERS, SF_NOTIFY_SEND_RESPONSE

    class Sets:
        def GetFilterVersion(self, fv):
            fv.Flags = SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE

        def HttpFilterProc(self, fc):
            if fc.NotificationType == SF_NOTIFY_PREPROC_HEADERS:
                fc.GetData().SetHeader("X-Name:", "café")
                fc.AddResponseHeaders("X-Euro: €\r\n")
            return 0x8000002  # SF_STATUS_REQ_NEXT_NOTIFICATION

    seen = {}

    def site(ecb):
        seen["name"] = ecb.GetServerVariable("HTTP_X_NAME", None)
        return html()

    with FilterHost(Sets()) as iis:
        response = iis.request(response=site)
    assert seen["name"] == "café".encode()
    assert "X-Euro: €".encode() in response.raw
