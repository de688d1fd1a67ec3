"""One lock for building torch models in this process.

transformers' ``from_pretrained`` (sentence-transformers calls it too) builds a model under
process-wide patches of torch: the modules are created on the meta device, then filled from the
checkpoint. Two builds in different threads at once interfere: one of them ends with meta
tensors ("Cannot copy out of meta tensor") or, worse, with weights "newly initialized because
missing from the checkpoint", i.e. random (seen here loading SmolLM2 beside the RAG embedder;
transformers issue #41782 reports the same). The model manager loads different models side by
side, so every in-process torch build (the Transformers backend, the RAG embedder and reranker)
holds this lock while it constructs; llama.cpp loads and everything after construction
(packing, warm-up) run in parallel as before.

The first imports of transformers race the same way: its top-level package is a lazy module,
and a thread that reads a name from it while another thread is still importing the submodule
behind that name gets ``ImportError: cannot import name ...`` (seen here when a restart resumed
a RAG ingestion, which imports sentence-transformers, beside a batch loading the Transformers
backend). So the backend registry imports engine modules, and the embedder its libraries,
under this lock too.

A module-level lock, because what it guards, torch's and transformers' global state, is
process-wide too.
"""

from __future__ import annotations

import threading

torch_build_lock = threading.Lock()
