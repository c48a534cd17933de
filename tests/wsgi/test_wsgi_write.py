"""Output through the ``write()`` callable, alone and mixed with the app_iter."""

from __future__ import annotations

from wsgi_harness import HTML, TEXT, UpperFilter, call, read, serve, wrap


def writing_app(written: list[bytes], returned: list[bytes], content_type: str = HTML):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", content_type)])
        for chunk in written:
            write(chunk)
        return returned

    return app


def test_a_filtered_response_written_through_write_is_filtered():
    response = serve(wrap(UpperFilter, writing_app([b"<p>a</p>", b"<p>b</p>"], [])))
    assert (response.status, response.body) == (200, b"<P>A</P><P>B</P>")


def test_write_output_and_app_iter_output_are_filtered_together_in_order():
    response = serve(wrap(UpperFilter, writing_app([b"<p>written</p>"], [b"<p>returned</p>"])))
    assert response.body == b"<P>WRITTEN</P><P>RETURNED</P>"


def test_write_to_a_filtered_response_sends_nothing_before_the_filter_ran():
    recorder, result = call(UpperFilter(writing_app([b"<p>a</p>"], [b"<p>b</p>"])))
    assert recorder.written == []
    assert result == [b"<P>A</P><P>B</P>"]


def test_write_to_a_passthrough_response_reaches_the_server_before_the_app_returns():
    recorder, result = call(UpperFilter(writing_app([b"one", b"two"], [b"three"], TEXT)))
    assert recorder.log == ["start 200 OK", "write", "write"]
    assert read(result) == [b"three"]


def test_passthrough_write_output_comes_before_the_app_iter_output_on_the_wire():
    response = serve(wrap(UpperFilter, writing_app([b"first "], [b"second"], TEXT)))
    assert response.body == b"first second"


def test_write_during_iteration_of_a_lazy_passthrough_response_keeps_the_order():
    def app(environ, start_response):
        def body():
            write = start_response("200 OK", [("Content-Type", TEXT)])
            yield b"a"
            write(b"b")
            yield b"c"

        return body()

    response = serve(wrap(UpperFilter, app))
    assert response.body == b"abc"
