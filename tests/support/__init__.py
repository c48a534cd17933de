"""What the test folders share, each defined once: example filters (``filters``), apps
and runners for every host (``hosts``, ``hardening_hosts``, ``asgi_harness``,
``chain_hosts``), servers on 127.0.0.1 (``servers``, ``http_servers``, ``cli_servers``), the test
Django project (``django_project``) and a driven response machine (``machines``).
Test folders import from here, never from each other."""
