"""The administrators' role editor. Nothing is imported here, so the Qt-free ``core`` loads without Qt."""
