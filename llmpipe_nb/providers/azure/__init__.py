"""Azure OpenAI: OpenAI's wire format at Azure's addresses (v1 API or deployment URLs),
with `api-key` or Entra ID credentials and Azure's content filter as typed errors.

`provider` holds the addresses and the pipelines, `auth` the credentials, `filters` the
content filter and error bodies.
"""

from .auth import SCOPE
from .filters import AzureContentFilter, AzureStreamDecoder, fired
from .provider import AzurePrepareRequest, AzureProvider, AzureSetup, api_version, azure_call

__all__ = [
    "SCOPE",
    "AzureContentFilter",
    "AzurePrepareRequest",
    "AzureProvider",
    "AzureSetup",
    "AzureStreamDecoder",
    "api_version",
    "azure_call",
    "fired",
]
