"""Bedrock's credentials and region: a Bedrock API key (a bearer token), or AWS credentials
that sign each request with SigV4.

AWS credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and
`AWS_SESSION_TOKEN`), else, with the `bedrock` extra installed, from botocore's credential
chain: the shared profile (`AWS_PROFILE` or `extra={"profile": ...}`), SSO, web
identity, the container or instance role. botocore is imported only then, and only its
credential chain is used, never a client. Credentials are read at send time, so
refreshed ones are always current.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ...config import ProviderConfig
from ...credentials import Secret
from ...errors import ConfigError
from .sigv4 import AwsCredentials

REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")
KEY_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"

_lock = threading.Lock()
_chains: dict[str | None, Any] = {}  # profile -> botocore credentials (refreshable)


def region(config: ProviderConfig) -> str:
    """The region: `extra={"region": ...}`, else `AWS_REGION` / `AWS_DEFAULT_REGION`."""
    value = dict(config.extra).get("region") or next(
        (os.environ[name] for name in REGION_ENV if os.environ.get(name)), None
    )
    if not value:
        raise ConfigError(
            "No AWS region for Bedrock: set AWS_REGION (such as us-east-1), or call "
            "llm.configure('bedrock', extra={'region': ...})."
        )
    return str(value)


def credentials(config: ProviderConfig) -> AwsCredentials | None:
    """The AWS credentials to sign with, or None when there are none anywhere."""
    key, secret, token = (os.environ.get(name) for name in KEY_ENV)
    if key and secret:
        return AwsCredentials(key, Secret(secret), Secret(token) if token else None)
    chain = _chain(dict(config.extra).get("profile") or os.environ.get("AWS_PROFILE"))
    if chain is None:
        return None
    frozen = chain.get_frozen_credentials()
    return AwsCredentials(
        frozen.access_key,
        Secret(frozen.secret_key),
        Secret(frozen.token) if frozen.token else None,
    )


def check(config: ProviderConfig) -> None:
    """Raise before sending when there is neither an API key nor AWS credentials."""
    if config.api_key is None and credentials(config) is None:
        raise ConfigError(
            f"No credentials for Bedrock: set {TOKEN_ENV} (a Bedrock API key), or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or install llmpipe_nb[bedrock] "
            "to use AWS profiles, SSO and instance roles."
        )


def _chain(profile: str | None) -> Any:
    """botocore's credential chain for a profile, found once; None without botocore or
    credentials."""
    with _lock:
        if profile not in _chains:
            try:
                import botocore.session
            except ImportError:
                return None
            session = botocore.session.Session(profile=profile)
            _chains[profile] = session.get_credentials()
        return _chains[profile]
