"""Each provider's default model, in one place, chosen by one rule.

The rule: the cheapest current general chat model that the provider lists as active and
that genai-prices prices (base tier, USD per million tokens), unless that model's
shutdown is already scheduled or its status is in doubt; then the provider's own named
replacement or routing target. Checked on 2026-12-06 against the providers' deprecation
pages and genai-prices 0.2.5; the sources are in `llmpipe_nb/lifecycle.json`, and a test
fails when a default here is deprecated or retired there.

- anthropic `claude-haiku-5-5` (0.10 / 0.50).
- openai `gpt-6-luna` (0.10 / 0.50); embeddings `text-embedding-3-small` (0.02).
  Legacy completions have no default: no OpenAI model remains on `/v1/completions`.
- gemini `gemini-3.5-flash-lite` (0.30 / 2.50), Google's routing target for the retired
  `gemini-2.5-flash`: `gemini-3.1-flash-lite` is cheaper but its shutdown is scheduled
  (2027-05-07), and `gemini-2.5-flash-lite`'s status is conflicting.
- groq `openai/gpt-oss-120b` (0.15 / 0.60), Groq's named replacement; the cheaper
  `openai/gpt-oss-20b` has no verified status.
- deepseek `deepseek-flash` (0.15 / 0.60); xai `grok-4.3` (1.25 / 2.50).
- openrouter `openai/gpt-6-luna` (0.10 / 0.50): OpenAI's default through OpenRouter
  (whether OpenRouter follows OpenAI's dates is not verified).
- perplexity `sonar` (1.00 / 1.00, plus its per-request search fee), the only general Sonar
  model the table prices at the base tier.
- bedrock `amazon.nova-micro-v1:0` (0.035 / 0.14), the cheapest priced chat model in the
  table's AWS entries, served on demand in every Bedrock region with Nova; embeddings
  `amazon.titan-embed-text-v2:0` (0.02). The table has no Bedrock lifecycle data; the live
  `ListFoundationModels` status wins there anyway.
- vertex `gemini-3.5-flash-lite`, as for gemini (the same models, the same table prices);
  embeddings `gemini-embedding-001` (0.15), which Vertex's lifecycle page lists with no
  retirement date.
- azure: none: `model=` names one of the user's own deployments.
- mistral, together: unchanged; the table has no lifecycle data for them.
- ollama: unchanged; local models have no lifecycle.
- llamacpp `local-model`: a name, not a model. llama-server and llama-cpp-python's server
  answer with the model they were started with whatever the request names (and report the
  name back), so any value works; a llama-server started with several models needs model=.
"""

from __future__ import annotations

#: provider -> default chat (and stream) model
CHAT: dict[str, str] = {
    "anthropic": "claude-haiku-5-5",
    "openai": "gpt-6-luna",
    "gemini": "gemini-3.5-flash-lite",
    "groq": "openai/gpt-oss-120b",
    "deepseek": "deepseek-flash",
    "xai": "grok-4.3",
    "openrouter": "openai/gpt-6-luna",
    "mistral": "mistral-small-latest",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "ollama": "llama3.2",
    "perplexity": "sonar",
    "bedrock": "amazon.nova-micro-v1:0",
    "vertex": "gemini-3.5-flash-lite",
    "llamacpp": "local-model",
}

#: provider -> default embedding model
EMBEDDINGS: dict[str, str] = {
    "openai": "text-embedding-3-small",
    "gemini": "gemini-embedding-001",
    "mistral": "mistral-embed",
    "together": "BAAI/bge-base-en-v1.5",
    "ollama": "nomic-embed-text",
    "bedrock": "amazon.titan-embed-text-v2:0",
    "vertex": "gemini-embedding-001",
}

#: why a legacy completion on OpenAI needs an explicit model
NO_COMPLETION_MODEL = (
    "No OpenAI model remains on /v1/completions (gpt-3.5-turbo-instruct, davinci-002 and "
    "babbage-002 were shut down on 2026-09-28): use llm.chat(...) with model='gpt-6-luna', "
    "or pass model= for a server that still offers completions."
)
