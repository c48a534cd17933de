"""Loading the filter: the notifications it asks IIS for, its description, its options."""

from __future__ import annotations

import types

import pytest
from filter_harness import PAGE, UpperFilter, html

from dualfilter import Filter, chain
from dualfilter.isapi.constants import (
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_ORDER_DEFAULT,
    SF_NOTIFY_ORDER_HIGH,
    SF_NOTIFY_ORDER_MASK,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_SEND_RAW_DATA,
)
from dualfilter.isapi.filter.mode import ISAPIFilter
from dualfilter.isapi.testing import FakeFilterVersion, FilterHost


def version_of(isapi_filter) -> FakeFilterVersion:
    fv = FakeFilterVersion()
    isapi_filter.GetFilterVersion(fv)
    return fv


def test_isapi_filter_returns_an_isapi_filter_object():
    assert isinstance(UpperFilter.isapi_filter(), ISAPIFilter)


def test_filter_asks_for_raw_data_and_end_of_request():
    flags = version_of(UpperFilter.isapi_filter()).Flags
    assert flags & SF_NOTIFY_SEND_RAW_DATA and flags & SF_NOTIFY_END_OF_REQUEST


def test_filter_has_the_default_order_unless_told():
    assert version_of(UpperFilter.isapi_filter()).Flags & SF_NOTIFY_ORDER_MASK == SF_NOTIFY_ORDER_DEFAULT


def test_notify_order_sets_the_priority():
    flags = version_of(UpperFilter.isapi_filter(notify_order=SF_NOTIFY_ORDER_HIGH)).Flags
    assert flags & SF_NOTIFY_ORDER_MASK == SF_NOTIFY_ORDER_HIGH


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError):
        UpperFilter.isapi_filter(notify_order=0x400)


def test_filter_asks_for_request_headers_to_strip_range():
    assert version_of(UpperFilter.isapi_filter()).Flags & SF_NOTIFY_PREPROC_HEADERS


def test_strip_request_headers_false_still_asks_for_the_request_headers_to_see_each_request_begin():
    flags = version_of(UpperFilter.isapi_filter(strip_request_headers=False)).Flags
    expected = SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_END_OF_NET_SESSION
    assert flags & ~SF_NOTIFY_ORDER_MASK == expected


def test_filter_description_names_the_filter():
    assert version_of(UpperFilter.isapi_filter()).FilterDesc == b"dualfilter UpperFilter"


def test_description_option_sets_filter_desc():
    assert version_of(UpperFilter.isapi_filter(description="Shouting site")).FilterDesc == b"Shouting site"


def test_get_filter_version_after_a_reload_takes_none():
    assert UpperFilter.isapi_filter().GetFilterVersion(None) is None


def test_other_options_configure_the_filter():
    assert UpperFilter.isapi_filter(filter_all_status=True).filter.filter_all_status is True


def test_an_unknown_option_is_refused():
    with pytest.raises(TypeError):
        UpperFilter.isapi_filter(no_such_option=1)


def test_host_adds_end_of_net_session_as_pywin32_does():
    with FilterHost(UpperFilter.isapi_filter()) as iis:
        assert iis.flags & SF_NOTIFY_END_OF_NET_SESSION


def test_host_loads_a_script_through_its_filter_factory():
    script = types.SimpleNamespace(__FilterFactory__=lambda: UpperFilter.isapi_filter())
    with FilterHost(script) as iis:
        assert iis.request(response=html()).body == PAGE.upper()


def test_a_chain_is_an_isapi_filter_too():
    class Exclaim(Filter):
        def filter(self, environ, headers, data):
            return data.replace(b"</p>", b"!</p>")

    with FilterHost(chain(UpperFilter, Exclaim).isapi_filter()) as iis:
        assert iis.request(response=html(b"<p>hi</p>")).body == b"<P>HI!</P>"


def test_a_configured_instance_becomes_an_isapi_filter_as_it_is():
    instance = UpperFilter(filter_all_status=True)
    assert UpperFilter.isapi_filter.__doc__ and instance.isapi_filter().filter is instance


def test_a_configured_instance_takes_isapi_options():
    isapi_filter = UpperFilter(filter_all_status=True).isapi_filter(description="Upper")
    assert version_of(isapi_filter).FilterDesc == b"Upper"


def test_a_configured_instance_refuses_filter_options():
    with pytest.raises(TypeError):
        UpperFilter().isapi_filter(filter_all_status=True)
