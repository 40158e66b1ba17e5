"""The app's frame: which window is up (``controller``), the worker pool (``tasks``), the look (``theme``),
and what every window shares (``widgets``, ``settings_store``, ``messages``, ``waiting``)."""
