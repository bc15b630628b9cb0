"""A small real issuer for the station's tests until the issuer service (branch ``issuer``) lands.

It is an HTTP server on 127.0.0.1 speaking the part of docs/interfaces.md the station uses:
``POST /api/v1/workers/{id}/credentials`` (Bearer token, ``Idempotency-Key``, one live
credential per worker: issuing revokes the previous with reason ``replaced``) and
``GET /jwks.json``. Credentials are really signed with a development key directory, so the
station's checks (decode, UID binding, signature) run on real bytes. Faults can be injected:
answers with a chosen status, or issuing and then dropping the connection (a lost answer).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from anxinma import credential as fmt
from anxinma.keys import KeyDirectory, jwks
from anxinma.ndef import encode_message

TOKEN = "station-test-token"


@dataclass
class Issued:
    serial: int
    worker_id: str
    card_uid: str | None
    hex: str
    status: str = "active"
    reason: str | None = None


@dataclass
class StubIssuer:
    keys: KeyDirectory
    workers: dict[str, str]  # worker id -> masked display name
    base_url: str = ""
    #: The issuer's record of each enterprise, and of each worker's (default: every worker in 253).
    enterprises: dict[int, str] = field(default_factory=lambda: {253: "宁波安心家政服务有限公司"})
    enterprise_of: dict[str, int] = field(default_factory=dict)
    credentials: dict[int, Issued] = field(default_factory=dict)
    replies: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # key -> (body, answer)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (worker id, key)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer with before working
    drop_next: int = 0  # issue, then drop the connection without an answer, this many times
    next_serial: int = 61442
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self, worker_id: str) -> list[Issued]:
        return [c for c in self.credentials.values() if c.worker_id == worker_id and c.status == "active"]

    def issue(self, worker_id: str, card_uid: str | None) -> dict[str, Any]:
        uid = bytes.fromhex(card_uid) if card_uid else None
        today = date.today()
        claims = fmt.Claims(
            issuer_code=self.keys.issuer.code,
            serial=self.next_serial,
            subject_kind=fmt.SubjectKind.WORKER,
            archive_id=100000 + int("".join(ch for ch in worker_id if ch.isdigit()) or "0"),
            enterprise_id=self.enterprise_of.get(worker_id, 253),
            display_name=self.workers[worker_id],
            categories=frozenset({fmt.Category.CLEANING, fmt.Category.ELDERLY_CARE}),
            issued_at=fmt.parse_when(today.isoformat(), "issued_at"),
            expires_at=fmt.parse_when(date(today.year + 1, today.month, min(today.day, 28)).isoformat(), "e"),
            card_uid=uid,
        )
        kid, key = self.keys.signing_key()
        credential = fmt.sign(claims, key, kid)
        replaced = None
        for old in self.live(worker_id):
            old.status, old.reason, replaced = "revoked", "replaced", old.serial
        self.credentials[claims.serial] = Issued(claims.serial, worker_id, card_uid, credential.to_hex())
        self.next_serial += 1
        return {
            "serial": claims.serial,
            "code": credential.to_url(self.base_url),
            "hex": credential.to_hex(),
            "ndef_hex": encode_message(credential, self.base_url).hex(),
            "qr_url": credential.to_url(self.base_url),
            "kid": kid.hex(),
            "issued_at": claims.issued_at.isoformat(),
            "expires_at": claims.expires_at.isoformat(),
            "card_uid": card_uid,
            "replaced_serial": replaced,
        }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.server.state
        parts = self.path.strip("/").split("/")
        if self.path == "/jwks.json":
            self._send(200, jwks(state.keys))
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": {"code": "unauthorized", "zh": "令牌无效", "en": "bad token"}})
        elif len(parts) == 4 and parts[:3] == ["api", "v1", "workers"] and parts[3] in state.workers:
            worker_id = parts[3]
            self._send(200, {"id": worker_id, "enterprise_id": state.enterprise_of.get(worker_id, 253)})
        elif len(parts) == 4 and parts[:3] == ["api", "v1", "enterprises"] and parts[3].isdigit():
            name = state.enterprises.get(int(parts[3]))
            if name is None:
                self._send(
                    404, {"error": {"code": "not_found", "zh": "没有此企业", "en": "no such enterprise"}}
                )
            else:
                self._send(200, {"id": int(parts[3]), "name": name})
        else:
            self._send(404, {"error": {"code": "not_found", "zh": "没有此资源", "en": "not found"}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        parts = self.path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["api", "v1", "workers"] or parts[4] != "credentials":
            self._send(404, {"error": {"code": "not_found", "zh": "没有此资源", "en": "not found"}})
            return
        worker_id = parts[3]
        key = self.headers.get("Idempotency-Key")
        with state.lock:
            state.requests.append((worker_id, key))
            if state.fail_next:
                self._send(
                    state.fail_next.pop(0),
                    {"error": {"code": "unavailable", "zh": "注入的故障", "en": "injected failure"}},
                )
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": {"code": "unauthorized", "zh": "令牌无效", "en": "bad token"}})
                return
            if worker_id not in state.workers:
                self._send(
                    404,
                    {
                        "error": {
                            "code": "not_found",
                            "zh": f"没有服务员 {worker_id}",
                            "en": f"no worker {worker_id}",
                        }
                    },
                )
                return
            if key is not None and key in state.replies:
                body, answer = state.replies[key]
                if body != raw:
                    self._send(
                        422,
                        {
                            "error": {
                                "code": "conflict",
                                "zh": "幂等键用于不同的请求",
                                "en": "Idempotency-Key reused with another body",
                            }
                        },
                    )
                else:
                    self._send(201, answer)
                return
            answer = state.issue(worker_id, json.loads(raw or "{}").get("card_uid"))
            if key is not None:
                state.replies[key] = (raw, answer)
            if state.drop_next:
                state.drop_next -= 1
                self.close_connection = True
                self.connection.close()  # issued, but the answer is lost
                return
        self._send(201, answer)


class _Server(ThreadingHTTPServer):
    state: StubIssuer
    daemon_threads = True


class RunningStubIssuer:
    """``with RunningStubIssuer(tmp_path, workers) as issuer: issuer.url …``"""

    def __init__(self, home: Path, workers: dict[str, str]) -> None:
        keys = KeyDirectory.init(home / "keys", insecure_dev=True)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.state = StubIssuer(keys, dict(workers), base_url=self.url)
        self.server.state = self.state
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RunningStubIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
