"""schemathesis hooks for test/openapi-schemathesis.test.ts (loaded through SCHEMATHESIS_HOOKS).

Generated cases only reach the handlers of signed routes if they are signed, so every case of such a route is
signed over the exact bytes that will be sent, by the test itself: this module asks the test's loopback signer
(JO_SIGNER_URL), which holds the Ed25519 key and the webhook secrets, and never sees them. Signing is done as
schemathesis "auth", so its ignored_auth check can still strip or spoil it and expect 401.
"""

import base64
import json
import os
import urllib.request

import schemathesis
from requests import compat
from schemathesis.core import NOT_SET

SIGNER_URL = os.environ["JO_SIGNER_URL"]

# Paths whose requests the signer knows how to authenticate.
SIGNED_PATHS = {"/interactions", "/webhook/jules", "/webhook/github", "/codec/decode", "/codec/encode"}


def _body_bytes(case):
    """The bytes `requests` will send for the case's body (it serialises `json=` with allow_nan=False)."""
    body = case.body
    if body is NOT_SET:
        return b""
    if isinstance(body, bytes):
        return body
    if body is None:
        return b"null"
    return compat.json.dumps(body, allow_nan=False).encode("utf-8")


@schemathesis.auth(refresh_interval=None, retry_on=[])
class SignedRequests:
    def get(self, case, context):
        return True if case.operation.path in SIGNED_PATHS else None

    def set(self, case, data, context):
        request = urllib.request.Request(
            SIGNER_URL,
            data=json.dumps({"path": case.operation.path, "body": base64.b64encode(_body_bytes(case)).decode("ascii")}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            signed = json.loads(response.read())
        headers = dict(case.headers or {})
        present = {name.lower() for name in headers}
        headers.update(signed["auth"])
        # What a real sender always carries but the document leaves optional (a delivery id may also sit in the
        # body): added only when the case has none of its own.
        for name, value in signed.get("defaults", {}).items():
            if name.lower() not in present:
                headers[name] = value
        case.headers = headers
