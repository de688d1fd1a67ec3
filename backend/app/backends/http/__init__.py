"""Engines spoken to over HTTP: they template, tokenize and count tokens themselves.

``remote`` (OpenAI-compatible servers, one or several replicas), ``vllm`` (vLLM's server as a
child process), ``ollama`` (an Ollama server), with ``openai_client`` (the streaming client
they share) and ``replicas`` (the pool: least-busy choice, health, failover).
"""
