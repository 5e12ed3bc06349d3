"""impasto's local web studio: ``impasto serve`` (needs the ``web`` extra).

:mod:`.jobs` is the job queue (no web code), :mod:`.forms` turns a
request into a validated job, :mod:`.server` is the FastAPI app and
``serve``; the page lives in ``static/``.
"""
