"""The `local` provider: GGUF models run by llama.cpp in this process (`pip install 'llmpipe_nb[local]'`).

One concept per module: `gguf` reads a model file's header, `models` finds and keeps the
loaded models, `generate` runs calls on them (streams from a worker thread), `calls`
turns requests into llama.cpp calls and answers into results, `plugs` holds the pipeline
steps, `provider` declares it. llama-cpp-python is imported only when a model is loaded.
"""

from .provider import LocalModelProvider

__all__ = ["LocalModelProvider"]
