import pytest

import llmpipe_nb as llm
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
    with pytest.raises(llm.ConfigError, match="Unknown setting api_token"):
        llm.configure("mock", api_token="x")
    llm.configure("mock", timeout=-3)
    with pytest.raises(llm.ConfigError, match="timeout for 'mock' must be a positive number"):
        llm.chat("mock", "hi")


def test_configure_none_removes_a_setting():
    llm.configure("mock", default_model="mock-large")
    assert llm.chat("mock", "hi").model == "mock-large"
    llm.configure("mock", default_model=None)
    assert llm.chat("mock", "hi").model == "mock-1"
