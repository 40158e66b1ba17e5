"""The administrators' role editor.

``window`` (``RoleEditor``) holds four tabs: ``users_tab`` (``filter_bar``, the ``userTable`` of
``table_view`` with ``table_model`` and the role ``delegate``, ``action_bar``), and ``roles_tab``,
``settings_tab``, ``history_tab`` (each built when first shown, ``lazy_tab``). ``core/`` is the editor's
state without Qt (page cache, pending edits, selection) and ``columns`` the table's column layout.

Nothing is imported here, so ``core`` loads without Qt.
"""
