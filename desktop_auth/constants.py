"""Names and limits shared by every layer; importing this costs nothing (no SQLAlchemy, no Qt)."""

ADMIN_ROLE = "admin"
USER_ROLE = "user"
PROTECTED_ROLES = frozenset({ADMIN_ROLE, USER_ROLE})

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit
ROLE_NAME_MAX_LENGTH = 64
ROLE_DESCRIPTION_MAX_LENGTH = 200

# Rules that depend on a read, each protected by a row every competing transaction writes
# (desktop_auth.services.guards): who is an active administrator (at least one; one first one) and the
# shared settings (checked as a whole, e.g. longest >= first lockout).
ADMINS_GUARD = "admins"
SETTINGS_GUARD = "settings"
INVARIANT_GUARDS = (ADMINS_GUARD, SETTINGS_GUARD)  # plus one per administrator, made on demand
