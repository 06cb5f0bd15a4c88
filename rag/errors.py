"""The project's exceptions; the CLI and the UI turn them into messages for people."""

import unicodedata


def one_line(text: str) -> str:
    """Text shown in a one-line message: a line break or other control character (in a file
    name, say) written as an escape, so one error is always one line."""
    if not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if unicodedata.category(c) in ("Cc", "Zl", "Zp")
        else c
        for c in text
    )


class DatelineError(Exception):
    """Base class: every error Dateline raises on purpose."""


class InputError(DatelineError):
    """An input file or record cannot be read as news (the message names it and says why)."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(f"{one_line(origin)}: {one_line(reason)}")
        self.origin = origin
        self.reason = reason


class ConfigError(DatelineError):
    """A setting is missing or invalid (the message names the variable)."""


class StoreError(DatelineError):
    """The vector store cannot be opened or written."""


class ModelError(DatelineError):
    """A model (embedder or LLM) cannot be loaded or run."""


class BusyError(DatelineError):
    """Too many answers are waiting for the model; the message says to try again later."""


class UnknownBackendError(ConfigError):
    """A backend name that is not registered; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(valid))}")
