"""The role editor's state, without Qt: ``page_cache`` holds the rows of the query on screen (a few pages,
however many users match), ``pending_edits`` the edits waiting to be saved, ``selection`` which users an
action is for.

``table_model.UserTableModel`` only translates them into Qt's roles and signals, and runs on the worker
pool the fetches the cache asks for. Nothing here imports Qt (an import contract says so), so it is tested
without a QApplication (tests/test_role_editor_core.py).
"""
