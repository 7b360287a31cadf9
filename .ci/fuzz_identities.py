"""Make the two identities the live fuzzing run uses: real accounts with real tokens.

    python .ci/fuzz_identities.py BASE_URL IDENTITIES_FILE

Registers two accounts on the running service, exchanges their passwords for tokens, writes a Web
Fuzzing Commons auth document (what schemathesis.toml's [auth.wfc] reads) and prints the shell
exports that point Schemathesis at it.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from pathlib import Path

import httpx
import yaml


def main(base_url: str, identities_file: Path) -> None:
    entries, user_ids = [], {}
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for name in ("alice", "bob"):
            account = {
                "email": f"{name}-{uuid.uuid4().hex[:8]}@example.com",
                "password": f"{name}'s fuzzing password",
            }
            user = http.post("/api/users", json={**account, "name": name}).raise_for_status().json()
            token = http.post("/api/tokens", json=account).raise_for_status().json()["access_token"]
            user_ids[name] = user["id"]
            entries.append(
                {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
            )
    identities_file.write_text(yaml.safe_dump({"auth": entries}))
    print(f"export TASKS_API_FUZZ_IDENTITIES={shlex.quote(str(identities_file))}")
    print(f"export TASKS_API_FUZZ_USER_ID={shlex.quote(user_ids['alice'])}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
