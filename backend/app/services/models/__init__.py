"""Model lifecycle: the files in the models folder and the engines that hold them.

``store`` (the folder scan, formats, context windows without loading), ``validation`` (what a
model folder must contain), ``inspection`` (parameter count and quantization from file
headers), ``bundled`` (the SmolLM2 models setup places), ``catalog`` (models to download),
``upstream`` (an Ollama server's models) and ``manager`` (:class:`ModelManager`: load once,
keep alive, evict, refuse to unload a busy model).
"""
