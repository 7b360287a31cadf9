"""A Better Auth stand-in for tests: signing keys, and their public halves served as a JWKS at
``{url}/api/auth/jwks`` by a local HTTP server."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class IdentityProvider:
    """A Better Auth stand-in: signing keys, and their public halves served as a JWKS."""

    url: str = ""
    keys: dict[str, tuple[str, Any]] = field(default_factory=dict)  # kid -> (alg, private key)
    published: list[dict[str, Any]] = field(default_factory=list)
    fetches: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    reachable: bool = True  # False: the JWKS endpoint answers 503, as a provider that is down

    def add_key(self, kid: str, alg: str) -> None:
        private: Any
        if alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
            jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        self.keys[kid] = (alg, private)
        self.published.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})

    def token(self, kid: str = "ed-1", *, sign_with: str | None = None, **claims: Any) -> str:
        alg, private = self.keys[sign_with or kid]
        now = int(time.time())
        payload = {
            "sub": "ba_user_1",
            "email": "grace@example.com",
            "email_verified": True,
            "name": "Grace Hopper",
            "iat": now,
            "exp": now + 900,
            "iss": self.url,
            "aud": self.url,
            **claims,
        }
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None}, private, alg, headers={"kid": kid}
        )

    def public_pem(self, kid: str) -> bytes:
        public_key = self.keys[kid][1].public_key()
        pem: bytes = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.gate.set()
    for kid, alg in (("ed-1", "EdDSA"), ("rsa-1", "RS256"), ("ec-1", "ES256")):
        provider.add_key(kid, alg)

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/api/auth/jwks":
                self.send_error(404)
                return
            provider.gate.wait(timeout=30)
            if not provider.reachable:
                self.send_error(503)
                return
            provider.fetches += 1
            body = json.dumps({"keys": provider.published}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
