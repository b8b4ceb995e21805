import asyncio

import pytest

import llmpipe_nb as llm


class Mark(llm.Plug):
    def __init__(self, *, label: str = "m") -> None:
        self.label = label

    def call(self, request):
        return request.assign("mark", self.label)


def names(builder):
    return builder.inspect_pipeline().names


def test_builder_is_immutable_and_reusable():
    base = llm.build("mock", "hi").with_model("mock-1")
    warm = base.with_temperature(0.9)
    cold = base.with_temperature(0.0)
    assert base.options == {"model": "mock-1"}
    assert warm.options["temperature"] == 0.9 and cold.options["temperature"] == 0.0
    assert warm.execute().request.options["temperature"] == 0.9


def test_fluent_options():
    b = llm.build("mock", "hi").with_model("mock-large").with_temperature(0.2).with_max_tokens(200)
    b = b.with_options(top_p=0.9)
    resp = b.execute()
    body = llm.providers.get("mock").requests[-1].json
    assert (body["model"], body["temperature"], body["max_tokens"], body["top_p"]) == (
        "mock-large",
        0.2,
        200,
        0.9,
    )
    assert resp.model == "mock-large"


def test_bad_builder_option_values_raise_config_error():
    with pytest.raises(llm.ConfigError, match="temperature"):
        llm.build("mock", "hi").with_temperature("hot")


def test_custom_plug_goes_just_before_execute_by_default():
    b = llm.build("mock", "hi").with_custom_plug(Mark, label="z")
    n = names(b)
    assert n.index("Mark") == n.index("ExecuteRequest") - 1
    assert b.execute().request.assigns["mark"] == "z"


def test_custom_plug_before_and_after_a_named_plug():
    b = llm.build("mock", "hi").with_custom_plug(Mark, before="FetchConfig")
    assert names(b)[1] == "Mark"
    b = llm.build("mock", "hi").with_custom_plug(Mark(label="q"), after="TrackCost")
    assert names(b)[-1] == "Mark"


def test_custom_plug_errors_are_clear():
    with pytest.raises(llm.ConfigError, match="Cannot place Mark next to 'Nope'"):
        llm.build("mock", "hi").with_custom_plug(Mark, before="Nope").pipeline()
    with pytest.raises(llm.ConfigError, match="has no option 'colour'"):
        llm.build("mock", "hi").with_custom_plug(Mark, colour=1)
    with pytest.raises(llm.ConfigError, match="before= or after="):
        llm.build("mock", "hi").with_custom_plug(Mark, before="A", after="B")


def test_custom_plug_in_a_pipeline_without_execute_goes_before_cost_tracking():
    b = (
        llm.build("mock", "hi")
        .with_pipeline([Mark(label="a"), llm.plugs.TrackCost])
        .with_custom_plug(lambda r: r)
    )
    assert names(b) == ["Mark", "<lambda>", "TrackCost"]


def test_without_plug_and_without_cost_tracking():
    b = llm.build("mock", "hi").without_cost_tracking()
    assert "TrackCost" not in names(b)
    resp = b.execute()
    assert resp.cost is None
    b = llm.build("mock", "hi").without_plug("TrackCost")
    assert "TrackCost" not in names(b)
    with pytest.raises(llm.ConfigError, match="no plug named 'Typo'"):
        llm.build("mock", "hi").without_plug("Typo").pipeline()


def test_with_pipeline_replaces_the_provider_pipeline():
    pipeline = [*llm.providers.get_pipeline("mock", "chat")][:-1]
    b = llm.build("mock", "hi").with_pipeline(pipeline)
    assert names(b)[-1] == "MockParseResponse"
    assert b.execute().content


def test_stream_and_astream():
    b = llm.build("mock", "stream me").with_model("mock-large")
    s = b.stream()
    text = "".join(c.content for c in s)
    assert text == s.response.content and s.response.model == "mock-large"
    got = []
    resp = b.stream(callback=got.append)
    assert "".join(c.content for c in got) == resp.content

    async def collect():
        return [c async for c in b.astream()]

    chunks = asyncio.run(collect())
    assert chunks[-1].done


def test_aexecute():
    resp = asyncio.run(llm.build("mock", "async").aexecute())
    assert "async" in resp.content


def test_inspect_pipeline_lists_plugs_with_options():
    info = llm.build("mock", "hi").with_custom_plug(Mark, label="k").inspect_pipeline()
    mark = next(p for p in info if p.name == "Mark")
    assert mark.options == {"label": "k"}
    assert info.provider == "mock" and info.kind == "chat"
    assert "Mark" in repr(info)


def test_debug_info_masks_every_secret():
    canary = "sk-canary-SECRET-0123456789"
    llm.configure("mock", api_key=canary, headers={"Authorization": f"Bearer {canary}"})
    info = llm.build("mock", "hi").with_options(api_key=canary).debug_info()
    assert canary not in repr(info)
    assert info["options"]["api_key"] == "***"
    assert info["config"]["api_key"] == "***"
    assert info["provider"] == "mock" and info["kind"] == "chat"
    assert info["plugs"][0]["name"] == "ValidateProvider"


def test_with_tags_labels_the_request():
    resp = llm.build("mock", "hi").with_tags("exp-1", "batch").execute()
    assert resp.request.metadata["tags"] == ("exp-1", "batch")
    with pytest.raises(llm.ConfigError, match="Tags"):
        llm.build("mock", "hi").with_tags("")


def test_build_with_unknown_provider_fails_at_once():
    with pytest.raises(llm.UnknownProviderError):
        llm.build("nope", "hi")


def test_build_embeddings_with_retry_over_http():
    from llmpipe_nb.testing import FakeServer, faults

    slept = []
    with FakeServer("openai") as srv:
        srv.inject(faults.http_error(500))
        b = (
            llm.build("openai", ["first", "second"], kind="embeddings")
            .with_options(api_key="k", base_url=srv.base_url, dimensions=4)
            .with_retry(max_attempts=3, sleep=slept.append)
            .with_circuit_breaker(failure_threshold=5)
        )
        at = names(b).index("ExecuteRequest")
        assert names(b)[at - 1 : at + 1] == ["CircuitBreaker", "ExecuteRequest"]
        resp = b.execute()
        assert isinstance(resp, llm.EmbeddingResponse) and len(resp.embeddings) == 2
        assert resp.request.kind == "embeddings" and resp.request.metadata["attempts"] == 2
        assert len(slept) == 1
        assert [r.path.rsplit("/", 1)[-1] for r in srv.requests] == ["embeddings", "embeddings"]
        assert srv.requests[-1].json["input"] == ["first", "second"]


def test_build_other_kinds():
    assert llm.build("mock", "Once upon", kind="completion").execute().content
    assert llm.build("mock", kind="list_models").execute()[0].id == "mock-1"
    assert llm.build("mock", kind="validate").execute().ok


def test_build_refuses_a_kind_the_provider_lacks_and_streaming_a_non_chat():
    with pytest.raises(llm.ConfigError, match="'anthropic' cannot build kind='embeddings'"):
        llm.build("anthropic", "x", kind="embeddings")
    with pytest.raises(llm.ConfigError, match=r"build a chat and call \.stream"):
        llm.build("mock", "x", kind="stream")
    emb = llm.build("mock", "x", kind="embeddings")
    with pytest.raises(llm.ConfigError, match="Only a chat streams"):
        emb.stream()
    with pytest.raises(llm.ConfigError, match="no option 'max_tokens' for embeddings"):
        emb.with_max_tokens(5)
    with pytest.raises(llm.ConfigError, match="item 0 is int"):
        llm.build("mock", [1], kind="embeddings").execute()
    assert llm.providers.get("mock").requests == []


def test_a_pipeline_that_produces_no_result_is_an_error_not_none():
    with pytest.raises(llm.PipelineError, match="finished without a result"):
        llm.build("mock", "hi").with_pipeline([lambda r: r]).execute()
