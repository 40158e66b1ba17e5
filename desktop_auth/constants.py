"""Names and limits shared by every layer; importing this costs nothing (no SQLAlchemy, no Qt)."""

ADMIN_ROLE = "admin"
USER_ROLE = "user"
PROTECTED_ROLES = frozenset({ADMIN_ROLE, USER_ROLE})

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit
ROLE_NAME_MAX_LENGTH = 64
