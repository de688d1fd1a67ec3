"""A tool's parameters schema placed inside the schema of a forced call.

The parameters become ``properties.arguments`` of a call object (itself maybe inside ``anyOf``
or an array), so references relative to their own root, ``#/$defs/Inner`` as every nested
Pydantic model has, would point at nothing in the larger document. :class:`Definitions`
collects the definitions of all tools at the document's root, under names of plain characters
(a tool's ``Inner`` may differ from another's), and rewrites the references to match. A
reference to anything else in the parameters (``#``, ``#/properties/a``) gets the parameters
themselves as a definition, so every reference still points at what it pointed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.backends.json_schema import escape, has_local_ref, ref_tokens, rewrite_refs

_DEFS_KEYS = ("$defs", "definitions")


@dataclass
class Definitions:
    """The ``$defs`` of one document that holds several tools' parameters."""

    defs: dict[str, Any] = field(default_factory=dict)

    def place(self, tool: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """``parameters`` (of tool ``tool``) as it must appear inside the document: its own
        definitions moved into :attr:`defs` and its references rewritten to them."""
        if not has_local_ref(parameters):
            return parameters
        body = {k: v for k, v in parameters.items() if k not in _DEFS_KEYS}
        # $id would change the base the references resolve against; $schema belongs at a root.
        body.pop("$id", None)
        body.pop("$schema", None)
        names: dict[tuple[str, str], str] = {}
        for key in _DEFS_KEYS:
            own = parameters.get(key)
            if isinstance(own, dict):
                for name in own:
                    names[(key, name)] = self._free_name(name)
        whole: list[str] = []  # the name of the parameters' own definition, once one is needed

        def change(ref: str) -> str:
            tokens = ref_tokens(ref) if ref != "#" else []
            if len(tokens) >= 2 and (tokens[0], tokens[1]) in names:
                rest = ref.split("/", 3)[3:]  # the part after the definition, escaped as it was
                return "/".join(["#/$defs", escape(names[(tokens[0], tokens[1])]), *rest])
            if not whole:
                whole.append(self._free_name(f"{tool}_parameters"))
            return f"#/$defs/{whole[0]}{ref[1:]}"

        moved = rewrite_refs(body, change)
        for (key, name), new in names.items():
            self.defs[new] = rewrite_refs(parameters[key][name], change)
        if not whole:
            return moved
        # Something points at the parameters themselves (#, #/properties/a): they become a
        # definition too, and the call object refers to it.
        self.defs[whole[0]] = moved
        return {"$ref": f"#/$defs/{whole[0]}"}

    def root(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema``, the document's root, with the collected definitions."""
        return {**schema, "$defs": self.defs} if self.defs else schema

    def _free_name(self, name: str) -> str:
        # Plain characters: llama-cpp-python's converter neither unescapes pointers nor
        # accepts every character in a rule name.
        base = re.sub(r"[^A-Za-z0-9_-]", "_", name) or "def"
        new, n = base, 1
        while new in self.defs:
            n += 1
            new = f"{base}_{n}"
        self.defs[new] = {}  # taken until filled in
        return new
