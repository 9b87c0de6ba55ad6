class AuditError(Exception):
    """A problem the user can fix (bad input, bad config); the CLI prints it without a traceback."""
