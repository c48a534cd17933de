"""``dualfilter apply`` run in-process through ``main(argv)``."""

from __future__ import annotations

import bz2
import gzip
import io
import sys
import textwrap

import pytest

from dualfilter.cli import main

BROKEN_FILTER = """\
from dualfilter import Filter


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise KeyError('boom')
"""


@pytest.fixture
def stdin(monkeypatch):
    """Replace stdin with the given bytes."""

    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    return feed


@pytest.fixture
def html_file(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<html><body><p>hi</p></body></html>")
    return str(path)


def test_filters_a_file_and_prints_the_body(html_file, capsysbinary):
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", html_file]) == 0
    assert capsysbinary.readouterr() == (b"<html><body><p>HO</p></body></html>", b"")


def test_dash_reads_stdin(stdin, capsysbinary):
    stdin(b"<p>hi</p>\n")
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", "-"]) == 0
    assert capsysbinary.readouterr().out == b"<p>HO</p>\n"


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["replace?pattern=a&repl=b", "replace?pattern=b&repl=c"], b"c"),
        (["replace?pattern=b&repl=c", "replace?pattern=a&repl=b"], b"b"),
    ],
)
def test_several_filters_apply_in_the_order_given(order, expected, stdin, capsysbinary):
    stdin(b"a")
    argv = ["apply"]
    for spec in order:
        argv += ["--filter", spec]
    assert main([*argv, "-"]) == 0
    assert capsysbinary.readouterr().out == expected


def test_output_bytes_are_written_unchanged(stdin, capsysbinary):
    stdin("<p>café</p>".encode("iso-8859-1"))
    assert main(["apply", "-f", "replace?pattern=p>&repl=div>", "-t", "text/html; charset=iso-8859-1", "-"]) == 0
    assert capsysbinary.readouterr().out == "<div>café</div>".encode("iso-8859-1")


def test_content_type_is_guessed_from_the_file_extension(tmp_path, capsysbinary):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"</body>")
    assert main(["apply", "--filter", "inject?html=X", str(path)]) == 0
    out, err = capsysbinary.readouterr()
    assert out == b"</body>"
    assert b"inject left the input unchanged: it does not filter Content-Type text/plain" in err


def test_content_type_option_overrides_the_guess(tmp_path, capsysbinary):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"</body>")
    assert main(["apply", "--filter", "inject?html=X", "--content-type", "text/html", str(path)]) == 0
    assert capsysbinary.readouterr().out == b"X</body>"


def test_a_non_200_status_is_left_alone_with_a_note(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", "--status", "404", "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == b"hi"
    assert err == b"dualfilter: note: replace left the input unchanged: status 404 is not filtered (set filter_all_status=true)\n"


@pytest.mark.parametrize(
    ("status", "reason"), [("204", "status 204 has no body"), ("304", "a 304 of what may be a filtered page")]
)
def test_a_status_with_no_body_drops_the_input_with_a_note(status, reason, stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", "--status", status, "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert err == f"dualfilter: note: replace dropped the input: {reason}\n".encode()


def test_a_content_length_header_option_is_replaced_by_the_inputs_length(stdin, capsysbinary):
    # Two different lengths would contradict each other (RFC 9110 section 8.6).
    stdin(b"<p>hi</p>")
    argv = ["apply", "-i", "-f", "replace?pattern=hi&repl=HO", "-s", "404", "-H", "Content-Length: 3", "-t", "text/html", "-"]
    assert main(argv) == 0
    assert capsysbinary.readouterr().out == b"404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>"


def test_filter_all_status_filters_a_non_200_status(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO&filter_all_status", "--status", "404", "-"]) == 0
    assert capsysbinary.readouterr().out == b"HO"


def test_header_option_adds_response_headers(stdin, capsysbinary):
    stdin(gzip.compress(b"<p>hi</p>"))
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", "--header", "Content-Encoding: gzip", "-"]) == 0
    assert gzip.decompress(capsysbinary.readouterr().out) == b"<p>HO</p>"


def test_a_gzip_file_is_decoded_filtered_and_compressed_again(tmp_path, capsysbinary):
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(b"<html><body><p>hi</p></body></html>", mtime=0))
    assert main(["apply", "--filter", "inject?html=<hr>", str(path)]) == 0
    out, err = capsysbinary.readouterr()
    assert (gzip.decompress(out), err) == (b"<html><body><p>hi</p><hr></body></html>", b"")


def test_a_file_compressed_in_a_coding_the_core_cannot_decode_is_left_alone_with_a_note(tmp_path, capsysbinary):
    compressed = bz2.compress(b"<p>hi</p>")
    path = tmp_path / "page.html.bz2"
    path.write_bytes(compressed)
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", str(path)]) == 0
    out, err = capsysbinary.readouterr()
    assert out == compressed
    assert b"dualfilter: note: replace left the input unchanged: unsupported Content-Encoding bzip2\n" in err


def test_a_content_encoding_header_overrides_the_coding_of_the_files_suffix(tmp_path, capsysbinary):
    path = tmp_path / "page.html.gz"
    path.write_bytes(b"<p>hi</p>")
    assert main(["apply", "--filter", "replace?pattern=hi&repl=HO", "--header", "Content-Encoding: identity", str(path)]) == 0
    assert capsysbinary.readouterr().out == b"<p>HO</p>"


def test_include_prints_status_and_headers_before_the_body(stdin, capsysbinary):
    stdin(b"<p>hi</p>")
    assert main(["apply", "-i", "--filter", "replace?pattern=hi&repl=HO", "-t", "text/html; charset=utf-8", "-"]) == 0
    assert capsysbinary.readouterr().out == (
        b"200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n\r\n<p>HO</p>"
    )


def test_module_colon_class_is_imported_from_the_current_directory(tmp_path, monkeypatch, stdin, capsysbinary):
    (tmp_path / "cwd_filters.py").write_text(
        textwrap.dedent(
            """
            from dualfilter import Filter

            class Upper(Filter):
                def filter(self, environ, headers, data):
                    return data.upper()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    stdin(b"<p>hi</p>")
    assert main(["apply", "--filter", "cwd_filters:Upper", "-"]) == 0
    assert capsysbinary.readouterr().out == b"<P>HI</P>"


def test_an_unknown_option_is_one_line_naming_it_with_exit_2(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?patern=hi", "-"]) == 2
    assert capsysbinary.readouterr() == (b"", b"dualfilter: error: replace: unknown option 'patern'; did you mean 'pattern'?\n")


def test_an_unknown_filter_is_one_line_with_exit_2(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "nosuchfilter", "-"]) == 2
    err = capsysbinary.readouterr().err
    assert err.startswith(b"dualfilter: error: unknown filter 'nosuchfilter'")
    assert err.count(b"\n") == 1


def test_a_missing_file_is_one_line_with_exit_1(tmp_path, capsysbinary):
    assert main(["apply", "--filter", "replace?pattern=a", str(tmp_path / "gone.html")]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert err == f"dualfilter: error: cannot read {tmp_path / 'gone.html'}: No such file or directory\n".encode()


def test_a_filter_that_raises_is_one_line_naming_it_with_exit_1(tmp_path, monkeypatch, stdin, capsysbinary):
    (tmp_path / "failing_filters.py").write_text(BROKEN_FILTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    stdin(b"<p>x</p>")
    assert main(["apply", "--filter", "failing_filters:Broken", "-"]) == 1
    assert capsysbinary.readouterr() == (b"", b"dualfilter: error: failing_filters:Broken failed: KeyError: 'boom'\n")


def test_traceback_option_adds_the_traceback_of_a_failing_filter(tmp_path, monkeypatch, stdin, capsysbinary):
    (tmp_path / "failing_filters2.py").write_text(BROKEN_FILTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    stdin(b"<p>x</p>")
    assert main(["apply", "--traceback", "--filter", "failing_filters2:Broken", "-"]) == 1
    err = capsysbinary.readouterr().err
    assert b"Traceback (most recent call last)" in err
    assert b"raise KeyError('boom')" in err


def test_an_oversize_response_refused_by_the_filter_is_an_error(stdin, capsysbinary):
    stdin(b"0123456789")
    assert main(["apply", "--filter", "replace?pattern=1&max_buffer_size=4", "-"]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b""
    assert err.startswith(b"dualfilter: error: replace failed: ")
    assert b"max_buffer_size=4" in err
    assert err.count(b"\n") == 1


def test_core_warnings_are_shown_as_one_line(stdin, capsysbinary):
    stdin(b"0123456789")
    assert main(["apply", "--filter", "replace?pattern=1&max_buffer_size=4&oversize=pass", "-"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == b"0123456789"
    assert err.startswith(b"dualfilter: warning: ")
    assert b"max_buffer_size=4" in err
    assert err.count(b"\n") == 1


def test_a_malformed_header_option_is_an_error_with_exit_2(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=a", "--header", "NoColon", "-"]) == 2
    assert capsysbinary.readouterr().err == b"dualfilter: error: --header 'NoColon' is not 'NAME: VALUE'\n"


@pytest.mark.parametrize("header", ["Bad Name: x", "X-A: \u2192", "X-A: a\x01b"])
def test_a_header_option_http_cannot_carry_is_an_error_with_exit_2(header, stdin, capsysbinary):
    # RFC 9110 sections 5.1 and 5.5: a name is a token; a value is latin-1 without control characters.
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=a", "--include", "--header", header, "-"]) == 2
    out, err = capsysbinary.readouterr()
    assert out == b"" and err.startswith(b"dualfilter: error: --header ") and err.count(b"\n") == 1


@pytest.mark.parametrize(
    ("source", "raised"),
    [
        ("raise RuntimeError('broken at import')\n", b"RuntimeError: broken at import"),
        (
            "from dualfilter import Filter\n\nclass F(Filter):\n    def __init__(self, **kw):\n"
            "        raise ValueError('broken at build')\n",
            b"ValueError: broken at build",
        ),
    ],
    ids=["import", "build"],
)
def test_traceback_option_adds_the_traceback_of_a_filter_module_or_constructor_that_fails(
    source, raised, tmp_path, monkeypatch, stdin, capsysbinary
):
    name = f"broken_{len(source)}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    stdin(b"<p>x</p>")
    assert main(["apply", "--traceback", "--filter", f"{name}:F", "-"]) == 2
    err = capsysbinary.readouterr().err
    assert b"Traceback (most recent call last)" in err and raised in err


def test_a_status_outside_http_range_is_an_error_with_exit_2(stdin, capsysbinary):
    stdin(b"hi")
    assert main(["apply", "--filter", "replace?pattern=a", "--status", "42", "-"]) == 2
    assert capsysbinary.readouterr().err == b"dualfilter: error: --status 42 is not an HTTP status\n"


def test_no_command_prints_help_and_exits_2(capsysbinary):
    assert main([]) == 2
    assert b"apply" in capsysbinary.readouterr().err


def test_filter_is_required():
    with pytest.raises(SystemExit) as exc:
        main(["apply", "-"])
    assert exc.value.code == 2


def test_an_async_filter_is_run_to_completion(tmp_path, monkeypatch, stdin, capsysbinary):
    (tmp_path / "async_filters.py").write_text(
        "from dualfilter import Filter\n\n\nclass Later(Filter):\n"
        "    async def filter(self, environ, headers, data):\n        return data.replace(b'a', b'b')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    stdin(b"<p>a</p>")
    assert main(["apply", "--filter", "async_filters:Later", "-"]) == 0
    assert capsysbinary.readouterr().out == b"<p>b</p>"
