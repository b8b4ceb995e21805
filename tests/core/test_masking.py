"""One masking rule everywhere: a credential never shows in a repr, an option dict or debug info."""

import pytest

import llmpipe_nb as llm
from llmpipe_nb import config, views
from llmpipe_nb.testing import FakeServer

CANARY = "sk-canary-0123456789abcdefXYZ"


class Auth(llm.Plug):
    def __init__(
        self, token: str = "", api_key: str = "", password: str = "", auth: dict | None = None
    ) -> None:
        self.token, self.api_key, self.password, self.auth = token, api_key, password, auth

    def call(self, request):
        return request


def shown_everywhere(builder):
    done = builder.run()
    plug = next(p for p in builder.pipeline() if p.name == "Auth")
    return [
        repr(plug),
        str(plug.options),
        repr(builder.inspect_pipeline()[plug_index(builder)]),
        str(builder.debug_info()),
        repr(done.metadata["plugs"]),
        repr(builder),
    ]


def plug_index(builder):
    return [p.name for p in builder.pipeline()].index("Auth")


def test_credential_named_plug_options_are_masked_in_every_text_form():
    b = llm.build("mock", "hi").with_custom_plug(
        Auth, token=CANARY, api_key=CANARY, password=CANARY, auth={"client_secret": CANARY}
    )
    for text in shown_everywhere(b):
        assert CANARY not in text, text
    opts = b.pipeline()[plug_index(b)].options
    assert opts["token"] == opts["api_key"] == opts["password"] == "***"
    assert opts["auth"] == {"client_secret": "***"}


def test_plain_options_show_and_unset_credentials_stay_none():
    class Plain(llm.Plug):
        def __init__(self, label: str = "x", token: str | None = None) -> None:
            self.label, self.token = label, token

        def call(self, request):
            return request

    assert Plain(label="shown").options == {"label": "shown", "token": None}
    assert repr(Plain(token="t0k3n-value")) == "Plain(label='x', token='***')"


def test_views_and_plugs_share_one_rule():
    assert views.is_secret_name is config.is_secret_name
    for name in ("api_key", "x-api-key", "token", "access_token", "password", "client_secret"):
        assert config.is_secret_name(name)
    for name in ("model", "max_tokens", "label"):
        assert not config.is_secret_name(name)
    assert config.masked("headers", {"Authorization": "Bearer x", "X-Trace": "1"}) == {
        "Authorization": "***",
        "X-Trace": "1",
    }


def test_an_api_key_option_is_a_secret_as_soon_as_it_comes_in():
    b = llm.build("mock", "hi").with_options(api_key=CANARY)
    assert isinstance(b.options["api_key"], llm.Secret)
    assert isinstance(b.request().options["api_key"], llm.Secret)
    assert CANARY not in repr(b.options) and CANARY not in str(b.debug_info())
    done = llm.chat("mock", "hi", api_key=CANARY).request
    initial = done.metadata["initial_request"]
    assert isinstance(initial.options["api_key"], llm.Secret)
    assert CANARY not in repr(initial.options)


def test_a_wrapped_key_still_reaches_the_provider():
    with FakeServer("openai", api_key=CANARY) as srv:
        b = llm.build("openai", "hi").with_options(api_key=CANARY, base_url=srv.base_url)
        assert b.execute().content
        assert llm.chat("openai", "hi", api_key=CANARY, base_url=srv.base_url).content
        assert all(r.headers["authorization"] == f"Bearer {CANARY}" for r in srv.requests)
        with pytest.raises(llm.AuthenticationError):
            llm.chat("openai", "hi", api_key="sk-wrong-000000000", base_url=srv.base_url)
