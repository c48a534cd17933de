"""Chains and streaming filters around a pywin32-style ISAPI extension (on the fake ECB)."""

from __future__ import annotations

import os

import pytest

from dualfilter import chain
from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_IO_SEND_HEADERS, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension

from .chain_filters import AddParagraph, MarkBody, Replace, Rot13Text

HTML = "text/html; charset=utf-8"
PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body><p>the cat \u00e9</p></body></html>".encode()


class Writes:
    """An extension that writes its body in the chunks given, after SendResponseHeaders."""

    def __init__(self, chunks, content_type=HTML):
        self.chunks, self.content_type = chunks, content_type

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", f"Content-Type: {self.content_type}\r\n\r\n")
        for chunk in self.chunks:
            ecb.WriteClient(chunk)
        return HSE_STATUS_SUCCESS


def test_a_chain_around_an_extension_answers_as_nested_middlewares():
    chained = call_extension(chain(MarkBody, Rot13Text, AddParagraph).isapi(Writes([PAGE[:40], PAGE[40:]])), FakeECB())
    nested = call_extension(MarkBody.isapi(Rot13Text.isapi(AddParagraph.isapi(Writes([PAGE[:40], PAGE[40:]])))), FakeECB())
    assert (chained.status, chained.headers, chained.body) == (nested.status, nested.headers, nested.body)
    assert b'<body class="m"><p>gur png' in chained.body


def test_each_write_of_a_streamed_response_reaches_the_client_as_it_comes():
    response = call_extension(Replace.isapi(Writes([b"<p>one c", b"at</p>", b"<p>two</p>"])), FakeECB())
    assert response.writes == [b"<p>one ", b"dog</p>", b"<p>two</p>"]
    assert response.header("Content-Length") is None


@pytest.fixture
def file_descriptor(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<p>a cat</p>")
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


def test_transmit_file_is_refused_for_a_streamed_response(file_descriptor):
    refused = []

    class Transmits:
        def HttpExtensionProc(self, ecb):
            head = f"Content-Type: {HTML}\r\n\r\n"
            try:
                ecb.TransmitFile(
                    lambda ecb, arg, count, error: ecb.DoneWithSession(),
                    None,
                    file_descriptor,
                    "200 OK",
                    0,
                    0,
                    head,
                    None,
                    HSE_IO_ASYNC | HSE_IO_SEND_HEADERS,
                )
            except ExtensionError as exc:
                refused.append(exc)
                ecb.DoneWithSession()
            return HSE_STATUS_PENDING

    response = call_extension(Replace.isapi(Transmits()), FakeECB())
    assert len(refused) == 1 and b"a cat" not in response.body
