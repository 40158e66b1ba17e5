"""Email address validation and normalization: the app's one function lives in ``desktop_auth.identity``
(bottom layer, so the migrations use exactly it); re-exported here for the services and the GUI."""

from desktop_auth.identity import normalize_email, sign_in_key

__all__ = ["normalize_email", "sign_in_key"]
