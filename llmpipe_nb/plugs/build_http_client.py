"""BuildHttpClient: attach the provider's pooled transport for this configuration."""

from __future__ import annotations

from .. import registry
from ..plug import Plug
from ..request import Request


class BuildHttpClient(Plug):
    """Sets `request.http_client`; one pooled client per provider configuration, reused."""

    def call(self, request: Request) -> Request:
        if request.http_client is not None:
            return request
        client = registry.get(request.provider).client(request.config)
        return request.evolve(http_client=client)
