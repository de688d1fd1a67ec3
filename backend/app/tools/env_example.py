"""Writes ``.env.example`` from the Settings class, so the file documents every field exactly.

Run ``python -m app.tools.env_example > .env.example`` after adding a setting; a test fails
while the file is out of date.
"""

from __future__ import annotations

import json
import textwrap

from pydantic_core import PydanticUndefined

from app.core.config import REPO_ROOT, Settings

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
    for name, field in Settings.model_fields.items():
        description = field.description or ""
        lines.append("")
        lines.extend("# " + line for line in textwrap.wrap(description, 96))
        lines.append(f"# {prefix}{name.upper()}={_default(field)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
