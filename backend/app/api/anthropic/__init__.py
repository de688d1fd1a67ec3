"""The Anthropic Messages API (``/v1/messages``), translated onto the generation service."""
