from llmpipe_nb.testing.pytest_plugin import (  # noqa: F401
    anthropic_server,
    fake_server,
    gemini_server,
    ollama_server,
    openai_server,
)
