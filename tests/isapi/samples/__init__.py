"""Equivalents of pywin32's ``isapi/samples`` scripts, written against the ISAPI interface only.

They run on the doubles in ``dualfilter.isapi.testing`` as users run the
originals under IIS (which need pywin32 and Windows): :mod:`.bases` stands in
for ``isapi.simple`` and ``isapi.threaded_extension``, with the same
behaviour (a ThreadPoolExtension's ``Dispatch`` ends its own session; its
error handler writes a traceback page and calls ``DoneWithSession``). The
redirectors fetch from ``UPSTREAM``, which the tests point at a server of
their own on 127.0.0.1.
"""
