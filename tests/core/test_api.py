import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers import Provider


def test_chat_returns_a_full_response():
    resp = llm.chat("mock", [{"role": "user", "content": "Explain plugs"}], temperature=0.1)
    assert isinstance(resp, llm.ChatResponse)
    assert "Explain plugs" in resp.content
    assert resp.provider == "mock" and resp.model == "mock-1"
    assert resp.finish_reason == "stop"
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.cost == 0.0 and resp.cost_status == "local"
    assert resp.latency_ms is not None and resp.latency_ms >= 0
    assert resp.request.state == "completed"
    assert [s.plug for s in resp.request.trace] == [
        "ValidateProvider",
        "FetchConfig",
        "BuildHttpClient",
        "MockPrepareRequest",
        "ExecuteRequest",
        "MockParseResponse",
        "TrackCost",
    ]


def test_mock_is_deterministic_and_the_default_provider():
    a = llm.chat("mock", "same prompt")
    b = llm.chat("same prompt")
    assert a.content == b.content and a.usage == b.usage
    assert b.provider == "mock"


def test_options_reach_the_provider():
    llm.chat("mock", "hi", model="mock-large", temperature=0.3, top_p=0.9)
    body = llm.providers.get("mock").requests[-1].json
    assert body["model"] == "mock-large" and body["temperature"] == 0.3 and body["top_p"] == 0.9


def test_achat():
    resp = asyncio.run(llm.achat("mock", "async hello"))
    assert "async hello" in resp.content


def test_sync_entry_points_work_inside_a_running_event_loop():
    async def inside():
        # what a Jupyter cell does: a sync call while the kernel's loop is running
        resp = llm.chat("mock", "from inside a loop")
        text = "".join(c.content for c in llm.stream("mock", "streamed inside"))
        return resp, text

    resp, text = asyncio.run(inside())
    assert "from inside a loop" in resp.content
    assert "streamed inside" in text


def test_stream_iterates_chunks_and_ends_with_usage():
    s = llm.stream("mock", "count the chunks please")
    chunks = list(s)
    assert chunks[-1].done and chunks[-1].finish_reason == "stop"
    assert chunks[-1].usage.output_tokens > 0
    assert not any(c.done for c in chunks[:-1])
    assert "".join(c.content for c in chunks) == s.response.content
    assert [c.index for c in chunks[:-1]] == list(range(len(chunks) - 1))


def test_stream_with_callback_returns_the_response():
    got = []
    resp = llm.stream("mock", "call me back", callback=got.append)
    assert isinstance(resp, llm.ChatResponse)
    assert "".join(c.content for c in got) == resp.content


def test_astream():
    async def collect():
        s = llm.astream("mock", "async stream")
        return [c async for c in s], s

    chunks, s = asyncio.run(collect())
    assert chunks[-1].done
    assert s.response.content == "".join(c.content for c in chunks)


def test_embeddings_are_deterministic_unit_vectors_in_input_order():
    a = llm.embeddings("mock", ["alpha", "beta"])
    b = llm.embeddings("mock", ["beta"])
    assert isinstance(a, llm.EmbeddingResponse)
    assert len(a.embeddings) == 2 and a.embeddings[1] == b.embeddings[0]
    assert abs(sum(x * x for x in a.embeddings[0]) - 1) < 1e-9
    assert a.model == "mock-embed-1" and a.usage.input_tokens > 0 and a.cost == 0.0


def test_list_models_and_validate():
    models = llm.list_models("mock")
    assert [m.id for m in models] == ["mock-1", "mock-large", "mock-embed-1"]
    assert all(isinstance(m, llm.ModelInfo) for m in models)
    result = llm.validate("mock")
    assert result.ok and result.provider == "mock"


def test_complete():
    resp = llm.complete("mock", "Once upon a time")
    assert "Once upon a time" in resp.content


def test_unknown_provider_lists_registered_names_and_sends_nothing():
    with pytest.raises(llm.UnknownProviderError, match=r"Unknown provider .nope.*mock"):
        llm.chat("nope", "hi")


def test_bad_option_values_fail_before_sending():
    mock = llm.providers.get("mock")
    with pytest.raises(llm.ConfigError, match="Option 'temperature' must be a number from 0 to 2"):
        llm.chat("mock", "hi", temperature=5)
    with pytest.raises(llm.ConfigError, match="'max_tokens' must be a positive whole number"):
        llm.chat("mock", "hi", max_tokens=-1)
    assert mock.requests == []


def test_malformed_messages_fail_before_sending():
    with pytest.raises(llm.ConfigError, match="unknown role"):
        llm.chat("mock", [{"role": "robot", "content": "hi"}])
    assert llm.providers.get("mock").requests == []


class KeyedProvider(Provider):
    name = "keyed"
    key_env = ("KEYED_API_KEY",)
    local = True
    plugs = llm.providers.get("mock").plugs

    def client(self, config):
        return llm.providers.get("mock").client(config)

    def stream_decoder(self, request):
        return llm.providers.get("mock").stream_decoder(request)


def test_missing_key_names_the_environment_variable_and_sends_nothing():
    llm.providers.register("keyed", KeyedProvider)
    with pytest.raises(llm.MissingKeyError, match="KEYED_API_KEY") as info:
        llm.chat("keyed", "hi")
    assert info.value.request.state == "error"
    assert llm.providers.get("mock").requests == []


def test_key_precedence_explicit_then_configure_then_environment(monkeypatch):
    llm.providers.register("keyed", KeyedProvider)
    monkeypatch.setenv("KEYED_API_KEY", "sk-from-env-000000")
    resp = llm.chat("keyed", "hi")
    assert resp.request.config.api_key.get_secret_value() == "sk-from-env-000000"
    llm.configure("keyed", api_key="sk-from-configure-0000")
    resp = llm.chat("keyed", "hi")
    assert resp.request.config.api_key.get_secret_value() == "sk-from-configure-0000"
    resp = llm.chat("keyed", "hi", api_key="sk-explicit-00000000")
    assert resp.request.config.api_key.get_secret_value() == "sk-explicit-00000000"
    # config options never travel in the body
    assert "api_key" not in llm.providers.get("mock").requests[-1].json


def test_provider_errors_are_raised_typed_with_the_request():
    llm.providers.get("mock").fail_next(llm.RateLimitError, retry_after=2.5)
    with pytest.raises(llm.RateLimitError) as info:
        llm.chat("mock", "hi")
    err = info.value
    assert err.provider == "mock" and err.status_code == 429 and err.retry_after == 2.5
    assert err.retryable
    assert err.request.state == "error"
    assert err.request.errors[-1].plug == "ExecuteRequest"


@pytest.mark.parametrize(
    "error",
    [
        llm.AuthenticationError,
        llm.BadRequestError,
        llm.ContextLengthError,
        llm.ServerError,
        llm.ProviderConnectionError,
        llm.ProviderTimeoutError,
        llm.ContentFilteredError,
    ],
)
def test_each_injected_error_class_reaches_the_caller(error):
    llm.providers.get("mock").fail_next(error)
    with pytest.raises(error):
        llm.chat("mock", "hi")


def test_a_bug_in_a_plug_is_raised_as_pipeline_error_naming_the_plug():
    def broken(request):
        return {}["missing"]

    b = llm.build("mock", "hi").with_custom_plug(broken)
    with pytest.raises(llm.PipelineError, match="Plug broken failed with KeyError") as info:
        b.execute()
    assert isinstance(info.value.__cause__, KeyError)


def test_stream_interrupted_keeps_partial_text():
    mock = llm.providers.get("mock")
    mock.configure(stream_error_after=2, chunk_size=5)
    got = []
    with pytest.raises(llm.StreamInterruptedError) as info:
        for chunk in llm.stream("mock", "a fairly long prompt to stream"):
            got.append(chunk.content)
    assert len(got) == 2
    assert info.value.partial_text == "".join(got)


def test_custom_provider_registration_is_listed():
    llm.providers.register("keyed", KeyedProvider)
    assert "keyed" in llm.providers.names()
    assert "mock" in llm.providers.names()
    with pytest.raises(llm.ConfigError, match="must subclass"):
        llm.providers.register("bad", object())


def test_stream_text_returns_the_whole_answer_on_every_call():
    s = llm.stream("mock", "tell me about plugs")
    first = next(iter(s)).content
    text = s.text()
    assert text.startswith(first) and text == s.response.content
    assert s.text() == text


def test_astream_text_returns_the_whole_answer_on_every_call():
    async def both():
        s = llm.astream("mock", "tell me about plugs")
        return await s.atext(), await s.atext()

    first, second = asyncio.run(both())
    assert first and first == second


def test_stream_text_raises_the_streams_error_again():
    llm.providers.get("mock").configure(stream_error_after=1)
    s = llm.stream("mock", "a fairly long prompt to stream")
    for _ in range(2):
        with pytest.raises(llm.StreamInterruptedError):
            s.text()


class Unnamed(Provider):
    local = True
    requires_key = False
    plugs = llm.providers.get("mock").plugs

    def client(self, config):
        return llm.providers.get("mock").client(config)


class NamedOther(Unnamed):
    name = "other"
    requires_key = True
    key_env = ("OTHER_API_KEY",)


def test_register_refuses_a_bad_name_and_a_provider_without_pipelines():
    for bad in ("", "  ", " padded", 3):
        with pytest.raises(llm.ConfigError, match="provider name must be a non-empty string"):
            llm.providers.register(bad, Unnamed)

    class NoPlugs(Provider):
        requires_key = False

    with pytest.raises(llm.ConfigError, match="'noplugs' has no pipelines: set its `plugs`"):
        llm.providers.register("noplugs", NoPlugs)
    assert "" not in llm.providers.names() and "noplugs" not in llm.providers.names()


def test_a_registered_provider_takes_the_name_it_is_registered_under():
    llm.providers.register("mine", NamedOther)
    llm.providers.register("theirs", NamedOther)
    assert llm.providers.get("mine").name == "mine" and NamedOther.name == "other"
    assert llm.providers.get("theirs").name == "theirs"
    with pytest.raises(llm.MissingKeyError, match="for provider 'mine'") as info:
        llm.chat("mine", "hi")
    assert "other" not in str(info.value)
    llm.configure("mine", api_key="sk-mine-000000000", default_model="mock-large")
    assert llm.chat("mine", "hi").model == "mock-large"  # its configuration, by its name
    with pytest.raises(llm.ConfigError, match="instance is named 'mine': register it as 'mine'"):
        llm.providers.register("elsewhere", llm.providers.get("mine"))
