"""Tool calling and structured output, between the API layers and the engines.

- ``schema_check``: JSON schemas from requests -> a :class:`~app.backends.base.Constraint`
  (or a 400 naming the keyword no grammar engine here enforces).
- ``formats`` and one module per template family (``hermes``, ``llama3``, ``mistral``): how a
  model writes tool calls, how to parse them out of its text, and the schema that forces one.
- ``prompting``: tools and tool history for templates that do not take them.
- ``planning``: what the generation service does with a request's tools.
- ``output``: model text -> content, reasoning and tool-call deltas, streamed or whole.
"""
