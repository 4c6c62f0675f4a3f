"""Asking an RFC 3161 time-stamp authority to stamp data: ``TsaClient.stamp``.

The request (built by ``rfc3161-client``) carries the SHA-256 of the data, a nonce, and asks
for the authority's certificate, so the token verifies on its own (``openssl ts -verify``
needs nothing but the root). The response is checked before it is returned: granted, the
nonce and the imprint of this request, signed under the configured root. A client holds
only its configuration, so any process (a recorder, the witness) can stamp with one.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    decode_timestamp_response,
)

from evidence_store.errors import SealroomError, TamperedError
from evidence_store.timestamping.verifier import TokenVerifier

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 1 << 20  # a token is a few kilobytes; more is not a token


class TsaUnavailable(SealroomError):
    """The authority could not be reached, or its answer cannot be used now: try again later.
    An answer that does not verify is one (a root configured wrong is fixed, then the queue
    goes on; no item is set aside for it)."""


class TsaRefused(SealroomError):
    """The authority answered and refused this request: it will not stamp it."""


class TsaClient:
    """One time-stamp authority: its URL, and the roots its tokens must chain to."""

    def __init__(self, url: str, verifier: TokenVerifier, *, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a time-stamp authority's URL is http or https, not {url!r}")
        self.url = url
        self.verifier = verifier
        self.timeout = timeout

    def stamp(self, data: bytes) -> bytes:
        """The DER TimeStampResp for SHA-256(``data``), checked against the authority's root.

        Raises TsaUnavailable when the authority cannot answer now, TsaRefused when it
        refuses the request or its answer does not verify."""
        request = (
            TimestampRequestBuilder()
            .data(data)
            .hash_algorithm(HashAlgorithm.SHA256)
            .nonce(nonce=True)
            .cert_request(cert_request=True)
            .build()
        )
        reply = self._post(request.as_bytes())
        try:
            status = decode_timestamp_response(reply).status
        except ValueError as exc:
            raise TsaUnavailable(f"{self.url} answered with no time-stamp response") from exc
        if status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
            raise TsaRefused(f"{self.url} did not grant the time-stamp (PKIStatus {status})")
        try:
            response = self.verifier.response(data, reply, location=self.url)
        except TamperedError as exc:
            raise TsaUnavailable(
                f"{self.url} answered with a token that fails: {exc.reason} "
                "(is SEALROOM_TSA_CA the authority's root?)"
            ) from exc
        if response.tst_info.nonce != request.nonce:
            raise TsaUnavailable(f"{self.url} answered another request (the nonce differs)")
        return reply

    def _post(self, query: bytes) -> bytes:
        http = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=query,
            method="POST",
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        )
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as answer:  # noqa: S310
                body: bytes = answer.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TsaUnavailable(f"{self.url} answered HTTP {exc.code}") from exc
            raise TsaRefused(f"{self.url} refused the request: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise TsaUnavailable(f"{self.url} cannot be reached: {exc}") from exc
        if len(body) > MAX_REPLY_BYTES:
            raise TsaRefused(f"{self.url} answered with more than a token")
        return body
