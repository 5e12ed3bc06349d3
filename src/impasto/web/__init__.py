"""impasto's local web studio: ``impasto serve`` (needs the ``web`` extra).

By job: :mod:`.settings` (defaults and limits, no web framework), :mod:`.jobs`
(the queue; no HTTP), :mod:`.examples` (the bundled pictures), :mod:`.forms`
(a request into a validated job), :mod:`.routes` (the HTTP routes),
:mod:`.app` (the FastAPI app), :mod:`.server` (``serve`` and its lifecycle);
the page lives in ``static/``.
"""
