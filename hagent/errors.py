"""Errors that more than one part of hagent raises or answers; here so that none of those parts
has to import another just to name them."""


class TrainingError(RuntimeError):
    """Training had to stop (e.g. the loss became non-finite); the message says what was kept."""


class UnsupportedTaskError(ValueError):
    """A task this agent can parse but not carry out (the message says why)."""
