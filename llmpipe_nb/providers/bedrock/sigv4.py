"""AWS Signature Version 4, written from AWS's specification with the standard library.

botocore's signer does the same (a test checks that both give the same signature for the
same request, credentials and time), but it logs the canonical request and the string
to sign at debug level, and importing it costs more than this whole provider. Here
nothing is logged, and the secret key is read only to derive the signing key.

Signed: the host, the date, the session token when there is one, and the content type;
the payload is hashed into the canonical request, as every AWS JSON service expects.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlsplit

from ...credentials import Secret

ALGORITHM = "AWS4-HMAC-SHA256"
#: the headers signed when present, in canonical (sorted) order
SIGNED = ("content-type", "host", "x-amz-date", "x-amz-security-token")


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key, its secret and an optional session token; the secrets never print."""

    access_key: str
    secret_key: Secret
    session_token: Secret | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key={self.access_key!r}, secret_key='***')"


def amz_date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def canonical_uri(path: str) -> str:
    """The path, percent-encoded once more over what went on the wire (all but S3 do this)."""
    return quote(path or "/", safe="/~")


def canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def canonical_request(
    method: str, url: str, headers: Mapping[str, str], body: bytes, signed: tuple[str, ...]
) -> str:
    parts = urlsplit(url)
    lines = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path),
            canonical_query(parts.query),
            lines,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: AwsCredentials,
    *,
    region: str,
    service: str,
    when: datetime,
) -> dict[str, str]:
    """The headers that sign this request: `x-amz-date`, `x-amz-security-token` (with a
    session token) and `Authorization`. `headers` must hold `host` (and the content type)."""
    stamp = amz_date(when)
    added = {"x-amz-date": stamp}
    if credentials.session_token is not None:
        added["x-amz-security-token"] = credentials.session_token.get_secret_value()
    present = {k.lower(): v for k, v in headers.items()} | added
    signed = tuple(name for name in SIGNED if name in present)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(
        canonical_request(method, url, present, body, signed).encode()
    ).hexdigest()
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{digest}"
    key = _hmac(("AWS4" + credentials.secret_key.get_secret_value()).encode(), stamp[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return added
