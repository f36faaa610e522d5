"""The one exception that means "could not grade" (exit status 2)."""


class GradingError(Exception):
    """Grading could not run: no submissions, unknown module, broken install."""
