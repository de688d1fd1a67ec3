"""The Hugging Face Transformers engine, in-process on CPU or CUDA.

``backend`` (the :class:`~app.backends.base.Backend`), ``batching`` (the decode scheduler that
runs every request of a model in one batch), ``attention`` (row-invariant decode attention),
``kvcache`` and ``prefix_cache`` (batched and reused keys and values), ``packing`` (oneDNN
weight pre-packing), ``sampling`` (torch sampling), ``grammar`` (xgrammar constraints) and
``torch_build`` (the lock around ``from_pretrained``, shared with the RAG embedder).
"""
