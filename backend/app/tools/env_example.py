"""Writes ``.env.example`` from the settings groups, so the file documents every field exactly.

Run ``python -m app.tools.env_example > .env.example`` after adding a setting; a test fails
while the file is out of date.
"""

from __future__ import annotations

import json
import textwrap

from pydantic_core import PydanticUndefined

from app.core.config import REPO_ROOT, SETTINGS_GROUPS, Settings

HEADER = """\
# Mistral Playground settings. Copy to .env (read from the working directory) or export them.
# Every variable is optional; the value shown is the default. Generated from
# backend/app/core/config.py by `python -m app.tools.env_example`: do not edit by hand.
"""


def _default(field) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    text = str(value)
    # Paths under the checkout are shown relative, as they resolve from the repository root.
    root = str(REPO_ROOT)
    return text.replace(root + "/", "./") if text.startswith(root) else text


def render() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    lines = [HEADER]
    for group in SETTINGS_GROUPS:  # by group, as core/config.py declares them
        title = group.__name__.removesuffix("Settings")
        summary = " ".join((group.__doc__ or "").split())
        lines += ["", f"# ==== {title} " + "=" * (90 - len(title))]
        lines.extend("# " + line for line in textwrap.wrap(summary, 96))
        for name in group.model_fields:
            field = Settings.model_fields[name]
            description = field.description or ""
            lines.append("")
            lines.extend("# " + line for line in textwrap.wrap(description, 96))
            lines.append(f"# {prefix}{name.upper()}={_default(field)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
