"""Host detection: which adapter wraps an application."""

from __future__ import annotations

import functools

import pytest

from dualfilter import hosts


def wsgi_app(environ, start_response):
    return []


async def asgi_app(scope, receive, send):
    pass


class AsgiObject:
    async def __call__(self, scope, receive, send):
        pass


class WsgiObject:
    def __call__(self, environ, start_response):
        return []


class WsgiClass:
    """A WSGI app that is a class (PEP 3333): calling it makes the response iterable."""

    def __init__(self, environ, start_response):
        start_response("200 OK", [])

    def __iter__(self):
        return iter([])


class Extension:
    def HttpExtensionProc(self, ecb):
        return 1


@pytest.mark.parametrize(
    ("app", "kind"),
    [(wsgi_app, "wsgi"), (WsgiObject(), "wsgi"), (asgi_app, "asgi"), (AsgiObject(), "asgi"), (Extension(), "isapi")],
)
def test_the_host_is_detected_from_the_application(app, kind):
    assert hosts.detect(app) == kind


def test_a_function_marked_as_coroutine_function_is_asgi():
    from asgiref.sync import markcoroutinefunction

    def app(scope, receive, send):
        pass

    assert hosts.detect(markcoroutinefunction(app)) == "asgi"


def test_a_partial_of_an_asgi_function_is_asgi():
    import functools

    async def app(scope, receive, send, greeting="hi"):
        pass

    assert hosts.detect(functools.partial(app, greeting="hello")) == "asgi"


class PerInstanceCall:
    """An ASGI app whose __call__ is set per instance (sentry_sdk's SentryAsgiMiddleware does)."""

    __slots__ = ("__call__",)

    def __init__(self):
        self.__call__ = self._run

    async def _run(self, scope, receive, send):
        pass


@pytest.mark.parametrize(
    ("app", "kind"),
    [
        (functools.partial(AsgiObject()), "asgi"),
        (functools.partial(functools.partial(AsgiObject())), "asgi"),
        (functools.partial(WsgiObject()), "wsgi"),
        (PerInstanceCall(), "asgi"),
        (WsgiClass, "wsgi"),  # a class is called to make an instance, as a WSGI app may be (PEP 3333)
    ],
    ids=["partial-of-object", "nested-partials", "partial-of-wsgi-object", "per-instance-call", "class"],
)
def test_the_host_is_detected_as_servers_and_starlette_detect_it(app, kind):
    assert hosts.detect(app) == kind


def test_the_class_of_a_wsgi_object_is_refused_for_its_instance():
    # WsgiObject(environ, start_response) would fail on every request: its instances are the app.
    with pytest.raises(TypeError, match=r"pass an instance of it \(WsgiObject\(\)\)"):
        hosts.detect(WsgiObject)


def test_the_class_of_an_asgi_app_is_refused_for_its_instance():
    # Upper(Starlette) for Upper(Starlette()): the class would be called as a WSGI app.
    with pytest.raises(TypeError, match=r"pass an instance of it \(AsgiObject\(\)\)"):
        hosts.detect(AsgiObject)


def test_something_that_is_not_an_app_is_refused():
    with pytest.raises(TypeError, match="cannot wrap"):
        hosts.detect(42)


def test_an_unknown_host_name_is_refused():
    with pytest.raises(ValueError, match="unknown host"):
        hosts.wrap(object(), wsgi_app, "cgi")
