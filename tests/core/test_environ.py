"""The lazily built environ of non-WSGI hosts (dualfilter.environ)."""

from __future__ import annotations

from dualfilter.environ import LazyEnviron


class Counted(LazyEnviron):
    builds = 0

    def build(self):
        Counted.builds += 1
        return {"REQUEST_METHOD": self.method, "PATH_INFO": "/x"}


def test_the_method_is_known_without_building_the_environ():
    Counted.builds = 0
    assert Counted("HEAD").get("REQUEST_METHOD") == "HEAD" and Counted.builds == 0


def test_any_other_read_builds_it_once():
    Counted.builds = 0
    environ = Counted("GET")
    assert environ["PATH_INFO"] == "/x" and environ.get("PATH_INFO") == "/x" and Counted.builds == 1


def test_it_is_a_mutable_mapping_like_a_wsgi_environ():
    environ = Counted("GET")
    environ["x.y"] = 1
    del environ["PATH_INFO"]
    assert environ.copy() == {"REQUEST_METHOD": "GET", "x.y": 1}
