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


def load_dialogue(name: str) -> list[tuple[str, str]]:
    """Worked examples as (role, text) turns from a file of '--- user ---' and
    '--- assistant ---' sections (the fixed, cacheable start of a chat prompt)."""
    turns: list[tuple[str, str]] = []
    role: str | None = None
    lines: list[str] = []
    for line in load_prompt(name).splitlines():
        m = re.fullmatch(r"--- (user|assistant) ---", line.strip())
        if m:
            if role is not None:
                turns.append((role, "\n".join(lines).strip()))
            role, lines = m.group(1), []
        elif role is not None:
            lines.append(line)
    if role is not None:
        turns.append((role, "\n".join(lines).strip()))
    if not turns:
        raise ConfigError(f"prompts/{name}.md has no '--- user ---' / '--- assistant ---' turns")
    return turns
