"""The dialogs: sign-in, registration, first run, change password, temporary passwords, start-up error."""
