"""Request options: a name the provider does not send fails before anything is sent."""

import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers import Provider
from llmpipe_nb.testing import FakeServer


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "ollama", "groq"])
def test_a_misspelt_option_names_the_close_match_and_sends_nothing(provider):
    wire = "openai" if provider == "groq" else provider
    with FakeServer(wire) as srv:
        with pytest.raises(llm.ConfigError) as info:
            llm.chat(provider, "x", api_key="k", base_url=srv.base_url, max_token=5)
        assert srv.requests == []
    message = str(info.value)
    assert f"Provider '{provider}' has no option 'max_token' for chat" in message
    assert "did you mean 'max_tokens'?" in message
    assert "extra_body={'max_token': ...}" in message
    assert info.value.request.state == "error"


def test_an_option_with_no_close_match_lists_the_known_ones():
    with pytest.raises(llm.ConfigError, match=r"no option 'zebra' for chat: its options are .*"):
        llm.chat("mock", "hi", zebra=1)
    assert llm.providers.get("mock").requests == []


def test_a_field_the_provider_knows_goes_through_extra_body():
    with FakeServer("anthropic") as srv:
        llm.chat(
            "anthropic", "x", api_key="k", base_url=srv.base_url, extra_body={"top_logprobs": 2}
        )
        assert srv.requests[-1].json["top_logprobs"] == 2
    with pytest.raises(llm.ConfigError, match="'extra_body' must be a dict"):
        llm.chat("mock", "hi", extra_body=["x"])


def test_options_are_checked_per_kind():
    with FakeServer("openai") as srv:
        with pytest.raises(llm.ConfigError, match="no option 'temperature' for embeddings"):
            llm.embeddings("openai", "x", api_key="k", base_url=srv.base_url, temperature=0.2)
        vectors = llm.embeddings("openai", "x", api_key="k", base_url=srv.base_url, dimensions=8)
        assert srv.requests[-1].json["dimensions"] == 8
        assert len(vectors.embeddings) == 1


def test_every_option_a_provider_declares_reaches_the_wire():
    with FakeServer("ollama") as srv:
        llm.chat("ollama", "x", base_url=srv.base_url, num_ctx=512, keep_alive="1m", max_tokens=3)
        body = srv.requests[-1].json
    assert body["options"]["num_ctx"] == 512 and body["options"]["num_predict"] == 3
    assert body["keep_alive"] == "1m"


def test_common_options_and_the_mock_options_pass():
    resp = llm.chat("mock", "hi", cache=False, mock_reply="scripted", timeout=5, seed=1)
    assert resp.content == "scripted"


def test_the_builder_and_map_refuse_a_misspelt_option_at_once():
    with pytest.raises(llm.ConfigError, match="did you mean 'temperature'"):
        llm.build("mock", "hi").with_options(temprature=0.5)
    with pytest.raises(llm.ConfigError, match="did you mean 'max_tokens'"):
        llm.map(["a", "b"], "{}", "mock", max_token=3, progress=False)
    assert llm.providers.get("mock").requests == []


class Undeclared(Provider):
    """A provider that does not declare its options: they are passed on unchecked."""

    local = True
    requires_key = False
    plugs = llm.providers.get("mock").plugs

    def client(self, config):
        return llm.providers.get("mock").client(config)


def test_a_provider_that_declares_no_options_is_not_checked():
    llm.providers.register("undeclared", Undeclared)
    llm.chat("undeclared", "hi", anything=1)
    assert llm.providers.get("mock").requests[-1].json["anything"] == 1
