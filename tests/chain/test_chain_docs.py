"""The code samples of docs/chain.md run and do what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter.state import State
from dualfilter.testing import make_environ, run_filter
from tests.support.machines import driven_machine

DOC = Path(__file__).resolve().parents[2] / "docs" / "chain.md"
PAGE = b'<html><body><p>a <a href="/x">link</a></p></body></html>'


def sample(marker: str) -> dict:
    (code,) = [code for code in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S) if marker in code]
    namespace: dict = {"__name__": "chain_docs_sample"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def test_the_pipeline_runs_its_stages_last_named_first():
    _, _, body = run_filter(sample("Pipeline = chain(")["Pipeline"], PAGE)
    assert body == b'<html><body class="js"><p>A <a href="/X" rel="nofollow">LINK</a></p></body></html>'


def test_the_replace_filter_streams():
    machine = driven_machine(sample("class Replace")["Replace"](), make_environ())
    machine.start(200, [("Content-Type", "text/html; charset=utf-8")])
    assert machine.state is State.HOLDING  # streamed: the start waits for the first output byte


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="cat dog", max_size=60), st.integers(min_value=1, max_value=8))
def test_the_replace_filter_replaces_in_any_chunking(text, chunks):
    replace = sample("class Replace")["Replace"]
    body = text.encode()
    assert run_filter(replace, body, chunks=chunks)[2] == text.replace("cat", "dog").encode()


def test_the_stream_sample_is_general_in_its_words():
    stream = sample("class Replace")["ReplaceStream"]("ab", "xa")
    pieces = ["ab", "b", "aab"]
    out = "".join(stream.feed(piece) for piece in pieces) + stream.finish()
    assert out == "".join(pieces).replace("ab", "xa")
