import asyncio

import pytest

import llmpipe_nb as llm
from llmpipe_nb.pipeline import add_listener, remove_listener


class Tag(llm.Plug):
    def __init__(self, *, label: str = "x", times: int = 1) -> None:
        self.label = label
        self.times = times

    def call(self, request):
        seen = request.assigns.get("seen", ())
        return request.assign("seen", (*seen, self.label * self.times))


class Halter(llm.Plug):
    def call(self, request):
        return request.halt("enough")


class Boom(llm.Plug):
    def call(self, request):
        raise KeyError("missing")


class Soft(llm.Plug):
    def call(self, request):
        return request.add_error(ValueError("not fatal"))


class Liar(llm.Plug):
    def call(self, request):
        return {"not": "a request"}


def run(*plugs):
    return llm.Pipeline.run(llm.Request.new("mock", "hi"), list(plugs))


def test_plugs_run_in_written_order_and_are_timed():
    done = run((Tag, {"label": "a"}), Tag(label="b"), lambda r: r.assign("fn", True))
    assert done.state == "completed"
    assert done.assigns["seen"] == ("a", "b")
    assert done.assigns["fn"] is True
    assert [s.plug for s in done.trace] == ["Tag", "Tag", "<lambda>"]
    assert all(s.duration_ns > 0 for s in done.trace)
    assert list(done.timings) == ["Tag", "<lambda>"]  # names collapse in the dict view
    assert done.metadata["duration_ns"] == sum(s.duration_ns for s in done.trace)


def test_trace_keeps_the_request_after_each_plug_without_copying():
    done = run(Tag(label="a"), Tag(label="b"))
    first, second = done.trace
    assert first.request.assigns["seen"] == ("a",)
    assert second.request.assigns["seen"] == ("a", "b")
    assert second.request.messages is first.request.messages


def test_tracing_can_be_switched_off():
    done = llm.Pipeline.run(llm.Request.new("mock", "hi"), [Tag], trace=False)
    assert done.trace[0].request is None


def test_halt_stops_the_run():
    done = run(Tag(label="a"), Halter, Tag(label="never"))
    assert done.state == "halted"
    assert done.assigns["seen"] == ("a",)
    assert [s.outcome for s in done.trace] == ["ok", "halted"]
    assert done.trace[-1].note == "enough"


def test_recoverable_error_goes_on_terminal_exception_stops_with_plug_name():
    done = run(Soft, Tag(label="a"), Boom, Tag(label="never"))
    assert done.state == "error"
    assert done.assigns["seen"] == ("a",)
    assert [type(e.error).__name__ for e in done.errors] == ["ValueError", "KeyError"]
    assert done.errors[-1].plug == "Boom" and done.errors[-1].terminal
    assert done.trace[-1].outcome == "error"
    assert "KeyError" in done.trace[-1].note


def test_plug_returning_a_non_request_raises_contract_error():
    with pytest.raises(llm.PlugContractError, match="Plug Liar returned dict"):
        run(Liar)


def test_unknown_or_ill_typed_options_fail_when_the_pipeline_is_built():
    with pytest.raises(llm.ConfigError, match="Plug Tag has no option 'colour'"):
        llm.Pipeline.run(llm.Request.new("mock", "hi"), [(Tag, {"colour": "red"})])
    with pytest.raises(llm.ConfigError) as caught:
        Tag(times="3")
    assert str(caught.value) == "Plug Tag option 'times' must be a whole number, not '3'."
    with pytest.raises(llm.ConfigError, match="must be a whole number, not True"):
        Tag(times=True)


def test_bad_spec_is_rejected():
    with pytest.raises(llm.ConfigError, match="Cannot use 42 as a plug"):
        run(42)


def test_arun_awaits_async_plugs_and_functions():
    class Slow(llm.Plug):
        def call(self, request):
            raise AssertionError("the async runner must use acall")

        async def acall(self, request):
            await asyncio.sleep(0)
            return request.assign("slow", True)

    async def fn(request):
        return request.assign("afn", True)

    done = asyncio.run(llm.Pipeline.arun(llm.Request.new("mock", "hi"), [Slow, fn, Tag]))
    assert done.state == "completed"
    assert done.assigns["slow"] and done.assigns["afn"] and done.assigns["seen"] == ("x",)


def test_async_function_plug_in_sync_run_is_a_clear_error():
    async def fn(request):
        return request

    done = run(fn)
    assert done.state == "error"
    assert "Pipeline.arun" in str(done.terminal_error)


def test_after_run_hooks_see_the_final_request_and_are_traced():
    class Store(llm.Plug):
        def call(self, request):
            return request.put_metadata("stored", request.assigns["seen"])

    def register(request):
        return request.register_after_run(Store())

    done = run(register, Tag(label="a"))
    assert done.metadata["stored"] == ("a",)
    assert [s.plug for s in done.trace] == ["register", "Tag", "Store"]


def test_after_run_hooks_do_not_run_after_a_terminal_error():
    class Store(llm.Plug):
        def call(self, request):
            raise AssertionError("must not run")

    done = run(lambda r: r.register_after_run(Store()), Boom)
    assert done.state == "error"


def test_listeners_see_every_finished_request_and_cannot_break_it():
    seen = []

    def broken(request):
        raise RuntimeError("listener bug")

    add_listener(seen.append)
    add_listener(broken)
    try:
        ok = run(Tag)
        bad = run(Boom)
    finally:
        remove_listener(seen.append)
        remove_listener(broken)
    assert seen == [ok, bad]
    assert ok.state == "completed"


def test_stream_yields_chunks_then_the_request():
    pipeline = llm.providers.get_pipeline("mock", "stream")
    items = list(llm.Pipeline.stream(llm.Request.new("mock", "hi there", kind="stream"), pipeline))
    *chunks, done = items
    assert isinstance(done, llm.Request) and done.state == "completed"
    assert all(isinstance(c, llm.StreamChunk) for c in chunks)
    assert "".join(c.content for c in chunks) == done.result.content


def test_astream_yields_chunks_then_the_request():
    pipeline = llm.providers.get_pipeline("mock", "stream")

    async def collect():
        return [
            i
            async for i in llm.Pipeline.astream(
                llm.Request.new("mock", "hi", kind="stream"), pipeline
            )
        ]

    *chunks, done = asyncio.run(collect())
    assert done.state == "completed"
    assert "".join(c.content for c in chunks) == done.result.content
