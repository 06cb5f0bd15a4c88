"""Prompt files (*.md beside this module), loaded by name and filled with named variables."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from rag.errors import ConfigError

_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@cache
def load_prompt(name: str) -> str:
    """The text of prompts/<name>.md."""
    try:
        return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no prompt file prompts/{name}.md") from None


def render(name: str, **values: str) -> str:
    """Fill {{var}} slots; a slot without a value (or a value without a slot) is an error."""
    text = load_prompt(name)
    wanted = set(_VAR.findall(text))
    missing = wanted - values.keys()
    extra = values.keys() - wanted
    if missing or extra:
        raise ConfigError(
            f"prompt {name!r}: missing {sorted(missing) or 'nothing'}, "
            f"unexpected {sorted(extra) or 'nothing'}"
        )
    return _VAR.sub(lambda m: values[m.group(1)], text)
