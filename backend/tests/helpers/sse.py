"""Reading a server-sent-event body in tests."""

from __future__ import annotations


def sse_pairs(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) of each event in a server-sent-event body, in order."""
    events = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
        if data:
            events.append((name, "\n".join(data)))
    return events
