import pytest

import llmpipe_nb as llm
from llmpipe_nb import config
from llmpipe_nb.errors import redact

CANARY = "sk-canary-0123456789abcdef"


def test_secret_never_shows():
    s = llm.Secret(CANARY)
    for text in (str(s), repr(s), s._repr_html_(), f"{s}", repr([s]), repr({"k": s})):
        assert CANARY not in text
    assert s.get_secret_value() == CANARY


def test_config_repr_and_masked_hide_the_key():
    llm.configure("mock", api_key=CANARY, headers={"X-Api-Key": CANARY, "X-Trace": "t1"})
    conf = llm.providers.get("mock").resolve_config({})
    assert CANARY not in repr(conf)
    masked = conf.masked()
    assert CANARY not in repr(masked)
    assert masked["headers"] == {"X-Api-Key": "***", "X-Trace": "t1"}


def test_error_messages_are_redacted():
    llm.Secret(CANARY)
    err = llm.ProviderError(f"bad key {CANARY} sent")
    assert CANARY not in str(err)
    assert "sk-other-ABCDEFGHIJK" not in redact("leaked sk-other-ABCDEFGHIJK here")


def test_configure_rejects_unknown_settings_and_bad_values():
    with pytest.raises(llm.ConfigError, match=r"configure\(\) has no setting 'api_token': use"):
        llm.configure("mock", api_token="x")
    with pytest.raises(llm.ConfigError, match="timeout for 'mock' must be a positive number"):
        llm.configure("mock", timeout=-3)  # refused when configured, not at the first request
    with pytest.raises(llm.ConfigError, match="timeout for 'mock' must be a positive number"):
        llm.chat("mock", "hi", timeout=-3)


def test_configure_none_removes_a_setting():
    llm.configure("mock", default_model="mock-large")
    assert llm.chat("mock", "hi").model == "mock-large"
    llm.configure("mock", default_model=None)
    assert llm.chat("mock", "hi").model == "mock-1"


def test_configure_refuses_an_unknown_provider_with_the_close_match():
    with pytest.raises(llm.UnknownProviderError, match=r"'opneai' \(did you mean 'openai'\?\)"):
        llm.configure("opneai", api_key="sk-typo-000000000")
    assert config.configured("opneai") == {}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"timeout": "x"}, "timeout for 'mock' must be a positive number of seconds, not 'x'"),
        ({"timeout": True}, "timeout for 'mock' must be a positive number"),
        ({"headers": {"X-Team": 1}}, "headers for 'mock' must be a dict of strings to strings"),
        ({"headers": ["X-Team"]}, "headers for 'mock' must be a dict"),
        ({"base_url": 5}, "base_url for 'mock' must be a non-empty string, not 5"),
        ({"default_model": ""}, "default_model for 'mock' must be a non-empty string"),
        ({"api_key": 123}, "api_key for 'mock' must be a non-empty string, not int"),
        ({"extra": [1]}, "extra for 'mock' must be a dict, not list"),
    ],
    ids=[
        "timeout-str",
        "timeout-bool",
        "header-int",
        "headers-list",
        "url",
        "model",
        "key",
        "extra",
    ],
)
def test_configure_checks_each_value_when_it_is_set(setting, message):
    llm.configure("mock", default_model="mock-large")
    with pytest.raises(llm.ConfigError, match=message):
        llm.configure("mock", **setting)
    assert config.configured("mock") == {"default_model": "mock-large"}  # nothing half-applied
    assert llm.chat("mock", "hi").model == "mock-large"


def test_request_level_settings_are_checked_the_same_way():
    with pytest.raises(llm.ConfigError, match="headers for 'mock' must be a dict of strings"):
        llm.chat("mock", "hi", headers={"X-Team": 1})
    assert llm.providers.get("mock").requests == []


def test_a_custom_provider_is_configured_once_registered():
    class Local(llm.providers.Provider):
        requires_key = False
        plugs = llm.providers.get("mock").plugs

    with pytest.raises(llm.UnknownProviderError):
        llm.configure("local-box", base_url="http://127.0.0.1:9")
    llm.providers.register("local-box", Local)
    llm.configure("local-box", base_url="http://127.0.0.1:9")
    assert llm.providers.get("local-box").resolve_config({}).base_url == "http://127.0.0.1:9"


def test_credential_like_header_names_are_masked():
    llm.configure(
        "mock", headers={"x-secret-token": CANARY, "X-Session-Token": CANARY, "X-Trace": "t1"}
    )
    masked = llm.providers.get("mock").resolve_config({}).masked()
    assert masked["headers"] == {"x-secret-token": "***", "X-Session-Token": "***", "X-Trace": "t1"}
