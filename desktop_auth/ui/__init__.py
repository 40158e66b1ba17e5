"""The Qt layer, the only package that imports PySide6; it calls services. Its rooms:

- ``shell/``: the app's frame: which window is up (controller), the worker pool, theme, shared widgets.
- ``dialogs/``: sign-in, registration, first run, change password, temporary passwords, start-up error.
- ``role_editor/``: the administrators' window, its tabs, its table, and its Qt-free ``core/``.
- ``account_window``: the signed-in window. ``startup``: what the app learns about its database at start.
"""
