"""The dev stack's token keys and clients, kept in its data dir (`.omni/`), and the one place
where the dev tools mint a token.

- `issuer-key.pem` signs every token of the local issuer: people's (`omni token`, the demo agent's,
  the tour's) and, through the issuer process (`omni.issuer`), the platform's own (routing, the
  bot worker). `jwks.json` is its public half: every service checks tokens against it.
- `chat-token-key.pem` is the sessions service's own key for visitors' chat tokens; the other
  services check those against `chat-jwks.json`.
- `clients.json` lists the issuer's clients with their secrets' hashes; each secret is in
  `clients/<id>`, given to that one process alone.
Files holding secrets are readable by their owner only.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterable
from pathlib import Path

from omni.devstack.processes import ManagedProcess, wait_for_port
from omni.issuer.domain.clients import PLATFORM_CLIENTS, secret_digest
from omni.runtime.auth import DESK_AUDIENCES, Role
from omni.runtime.token_issuer import SigningKey, TokenIssuer, jwks

# The issuer name of `make run`: the services' default OMNI_TOKEN_ISSUER.
ISSUER = "omnichannel"
ISSUER_KEY = "issuer-key.pem"
CHAT_KEY = "chat-token-key.pem"


def _private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(content)


def _key(path: Path, *, create: bool) -> SigningKey:
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"{path} not found: start the stack once (`make run`), or set OMNI_ISSUER_KEY_FILE")
        _private(path, SigningKey.generate().pem())
    return SigningKey.from_file(path)


class LocalIssuer:
    def __init__(self, data_dir: Path, key: SigningKey) -> None:
        self.data_dir = data_dir
        self.issuer = TokenIssuer(ISSUER, [key])

    @classmethod
    def load(cls, data_dir: Path, key_file: str = "") -> LocalIssuer:
        """The stack's issuer key (or `key_file`), for the dev tools; it must exist."""
        return cls(data_dir, SigningKey.from_file(key_file) if key_file else _key(data_dir / ISSUER_KEY, create=False))

    @classmethod
    def create(cls, data_dir: Path) -> LocalIssuer:
        """The stack's keys, public key files and clients, made the first time and kept after."""
        local = cls(data_dir, _key(data_dir / ISSUER_KEY, create=True))
        local.jwks_file.write_text(json.dumps(local.issuer.jwks()))
        local.chat_jwks_file.write_text(json.dumps(jwks([_key(local.chat_key_file, create=True)])))
        clients = {client_id: {"secret_sha256": secret_digest(local.client_secret(client_id)), "role": role.value,
                               "audiences": sorted(audiences)}
                   for client_id, (role, audiences) in PLATFORM_CLIENTS.items()}
        _private(local.clients_file, json.dumps({"clients": clients}, indent=2).encode())
        return local

    @property
    def jwks_file(self) -> Path:
        return self.data_dir / "jwks.json"

    @property
    def chat_key_file(self) -> Path:
        return self.data_dir / CHAT_KEY

    @property
    def chat_jwks_file(self) -> Path:
        return self.data_dir / "chat-jwks.json"

    @property
    def clients_file(self) -> Path:
        return self.data_dir / "clients.json"

    def client_secret(self, client_id: str) -> str:
        path = self.data_dir / "clients" / client_id
        if not path.exists():
            _private(path, secrets.token_urlsafe(32).encode())
        return path.read_text().strip()

    def mint(self, subject: str, role: Role, *, groups: Iterable[str] = (), session_id: str = "",
             audiences: Iterable[str] = DESK_AUDIENCES, ttl_seconds: int = 12 * 3600) -> str:
        """A token of the local issuer; by default for the desk (every service and the gateway)."""
        return self.issuer.mint(subject, role, audiences=audiences, groups=groups, session_id=session_id,
                                ttl_seconds=ttl_seconds)

    def trust_env(self) -> dict[str, str]:
        """What every service needs to check tokens: the issuer's and the chat tokens' public keys."""
        return {"OMNI_TOKEN_ISSUER": ISSUER, "OMNI_TOKEN_JWKS": str(self.jwks_file),
                "OMNI_CHAT_TOKEN_JWKS": str(self.chat_jwks_file)}

    def client_env(self, client_id: str, token_url: str) -> dict[str, str]:
        """What the process behind `client_id` needs to get its own tokens from the issuer at `token_url`."""
        return {"OMNI_TOKEN_URL": token_url, "OMNI_TOKEN_CLIENT_ID": client_id,
                "OMNI_TOKEN_CLIENT_SECRET": self.client_secret(client_id)}

    def server(self, port: int, log_path: Path | None = None) -> ManagedProcess:
        """The issuer process (`omni.issuer`) on `port`, started and listening; its token endpoint
        is `http://127.0.0.1:<port>/token`."""
        process = ManagedProcess("issuer", [sys.executable, "-m", "omni.issuer"], env={
            **os.environ, "OMNI_ISSUER_LISTEN": f"127.0.0.1:{port}", "OMNI_TOKEN_ISSUER": ISSUER,
            "OMNI_ISSUER_KEY_FILES": str(self.data_dir / ISSUER_KEY),
            "OMNI_ISSUER_CLIENTS_FILE": str(self.clients_file),
        }, log_path=log_path, url=f"http://127.0.0.1:{port}/token").start()
        assert process.process is not None
        wait_for_port(port, process.process, "the token issuer")
        return process
