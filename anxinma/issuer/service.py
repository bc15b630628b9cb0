"""The issuer's operations: archives, credentials, revocation, attention, the blacklist and the
live record. The API, the CLI, the daily job and the benchmarks all call these; nothing else
writes to the store.

Every change runs in one write transaction (:meth:`IssuerService.tx`) that ends by appending
its audit entries to the chain and stamping the changed credentials with the chain's sequence
number. Only after the commit are status changes pushed (Redis or in-process): a crash or a
Redis outage between the two loses nothing, because the reconciler and every status board
read the database by that sequence number.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxinma import credential as fmt
from anxinma.errors import AnxinmaError
from anxinma.issuer import audit
from anxinma.issuer.auth import (
    SYSTEM,
    TOKEN_PREFIX,
    Principal,
    Role,
    check_password,
    hash_password,
    issue_session,
    new_api_token,
    read_session,
    token_hash,
)
from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.db import Store
from anxinma.issuer.errors import ApiError, Conflict, Unauthorized, ValidationFailed, forbidden, not_found
from anxinma.issuer.live import LiveRecords
from anxinma.issuer.models import (
    ApiToken,
    BlacklistEntry,
    Counter,
    Credential,
    Enterprise,
    IdempotencyRecord,
    Issuer,
    ScanCount,
    Training,
    User,
    Worker,
    utcnow,
)
from anxinma.issuer.propagation import Publisher, StatusChange
from anxinma.issuer.rules import (
    attention_items,
    lapsed,
    mask_id,
    mask_phone,
    status_value,
    today_in_china,
)
from anxinma.issuer.status import StatusBoard
from anxinma.issuer.validation import (
    WorkerInput,
    normalise_credit_code,
    normalise_id_number,
    normalise_org_name,
    parse_star_level,
    worker_input,
)
from anxinma.issuer.vault import Vault
from anxinma.keys import KeyDirectory
from anxinma.status_list import CredentialStatus

log = logging.getLogger("anxinma.issuer")
T = TypeVar("T")

REVOKE_REASONS = ("left", "lost", "misconduct", "blacklisted")
ALL_REASONS = (*REVOKE_REASONS, "replaced")
_READERS = (Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN, Role.CARD_OPERATOR)


@dataclass
class Unit:
    """One write transaction: its session, the audit entries and status changes it makes."""

    session: Session
    entries: list[audit.PendingEntry] = field(default_factory=list)
    changed: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    seq: int | None = None

    def record(
        self, principal: Principal, action: str, target_type: str, target_id: object, **details: Any
    ) -> None:
        self.entries.append(audit.PendingEntry(principal.actor, action, target_type, str(target_id), details))

    def status_changed(self, serial: int, value: int, reason: str | None = None) -> None:
        self.changed[serial] = (value, reason)


@dataclass(frozen=True)
class IssueItem:
    worker_id: int
    card_uid: bytes | None = None
    holder_key: bytes | None = None  # the worker's phone key (cnf, RFC 8747): signs as the holder


@dataclass(frozen=True)
class Issued:
    """A credential just signed and stored."""

    row: Credential
    credential: fmt.Credential
    replaced_serial: int | None


@dataclass
class ImportReport:
    rows: int = 0
    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    credentials: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": len(self.created),
            "existing": len(self.existing),
            "failed": len(self.errors),
            "created_ids": self.created,
            "existing_ids": self.existing,
            "credential_serials": self.credentials,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class WorkerArchive:
    """A worker's credit archive as one page shows it (:meth:`IssuerService.worker_archive`)."""

    worker: Worker
    enterprise: Enterprise
    trainings: list[Training]
    credentials: list[Credential]

    @property
    def live(self) -> Credential | None:
        """The credential that is not revoked (at most one: the store's unique index)."""
        return next((c for c in self.credentials if c.status != "revoked"), None)


@dataclass(frozen=True)
class ImportRow:
    """A row of an import file that passed validation: its row number and the input."""

    row: int
    data: WorkerInput


class IssuerService:
    """The operations of one issuer (the city platform of the key directory)."""

    def __init__(
        self,
        config: IssuerConfig,
        store: Store,
        vault: Vault,
        keys: KeyDirectory,
        publisher: Publisher,
        board: StatusBoard,
    ) -> None:
        self.config = config
        self.store = store
        self.vault = vault
        self.keys = keys
        self.publisher = publisher
        self.board = board
        self.issuer_code = keys.issuer.code
        self.live = LiveRecords(store, keys, self.issuer_code)
        self.scans = self.live.scans
        self.issuer_id = self._ensure_issuer()

    def _ensure_issuer(self) -> int:
        info = self.keys.issuer
        with self.store.write() as session:
            row = session.execute(select(Issuer).where(Issuer.code == info.code)).scalar_one_or_none()
            if row is None:
                row = Issuer(code=info.code, name=info.name, base_url=self.config.base_url)
                session.add(row)
                session.flush()
            else:
                row.name, row.base_url = info.name, self.config.base_url
            return int(row.id)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[Unit]:
        """A write transaction whose audit entries and status changes commit with it."""
        with self.store.write() as session:
            unit = Unit(session)
            yield unit
            if unit.entries:
                unit.seq = audit.append(session, self.vault.audit_key, unit.entries)
            if unit.changed:
                if unit.seq is None:  # pragma: no cover - every status change is audited
                    raise AssertionError("a status change without an audit entry")
                _stamp(session, sorted(unit.changed), unit.seq)
        if unit.changed and unit.seq is not None:
            at = utcnow().isoformat()
            changes = [
                StatusChange(self.issuer_code, serial, value, reason, unit.seq, at)
                for serial, (value, reason) in sorted(unit.changed.items())
            ]
            self.board.apply([(c.serial, c.value) for c in changes])
            self.publisher.publish(changes)

    def run(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.tx() as unit:
            return operation(unit, *args, **kwargs)

    # -- idempotency -----------------------------------------------------------------------

    def idempotent(
        self,
        principal: Principal,
        key: str | None,
        fingerprint: str,
        operation: Callable[[Unit], tuple[int, dict[str, Any]]],
    ) -> tuple[int, dict[str, Any], bool]:
        """Run ``operation`` once per (caller, key): a repeat gets the first response back.

        Returns (status, body, replayed). The key row is inserted first, so a concurrent
        repeat waits on it and then replays; the same key with another body is a 409.
        """
        if not key:
            with self.tx() as unit:
                status, body = operation(unit)
            return status, body, False
        if len(key) > 128:
            raise ValidationFailed({"Idempotency-Key": ("幂等键最长 128 个字符", "at most 128 characters")})
        for _ in range(3):
            replay = self._replay(principal, key, fingerprint)
            if replay is not None:
                return replay[0], replay[1], True
            try:
                with self.tx() as unit:
                    record = IdempotencyRecord(
                        scope=principal.scope, key=key, fingerprint=fingerprint, status_code=0, body=""
                    )
                    unit.session.add(record)
                    unit.session.flush()
                    status, body = operation(unit)
                    record.status_code, record.body = status, json.dumps(body, ensure_ascii=False)
                return status, body, False
            except IntegrityError:
                continue  # another request with this key committed first: replay it
        raise Conflict("the idempotency key is in use", message_zh="该幂等键正在使用中")

    def _replay(self, principal: Principal, key: str, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
        with self.store.read() as session:
            record = session.execute(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == principal.scope, IdempotencyRecord.key == key
                )
            ).scalar_one_or_none()
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            raise Conflict(
                "this Idempotency-Key was used for a different request",
                message_zh="该幂等键已用于另一个请求",
            )
        return int(record.status_code), json.loads(record.body)

    # -- authentication --------------------------------------------------------------------

    def create_token(
        self,
        role: Role,
        enterprise_id: int | None = None,
        label: str | None = None,
        *,
        principal: Principal | None = None,
    ) -> tuple[int, str]:
        """A new API token (shown once; stored hashed). ``principal``: who asks (the API and
        the console: issuer_admin only); None for the operator's CLI, audited as the system."""
        if principal is not None:
            self.require(principal, Role.ISSUER_ADMIN)
        errors = _role_enterprise_errors(role, enterprise_id, ("企业管理员令牌", "an enterprise_admin token"))
        if errors:
            raise ValidationFailed(errors)
        token, hashed = new_api_token()
        with self.tx() as unit:
            if enterprise_id is not None:
                self._enterprise(unit.session, SYSTEM, enterprise_id)  # this issuer's, or 404
            row = ApiToken(token_hash=hashed, role=role.value, enterprise_id=enterprise_id, label=label)
            unit.session.add(row)
            unit.session.flush()
            unit.record(
                principal or SYSTEM,
                "token.create",
                "api_token",
                row.id,
                role=role.value,
                enterprise_id=enterprise_id,
            )
            return int(row.id), token

    def revoke_token(self, principal: Principal, token_id: int) -> None:
        self.require(principal, Role.ISSUER_ADMIN)
        with self.tx() as unit:
            row = unit.session.get(ApiToken, token_id)
            if row is None:
                raise not_found("token", "令牌")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                unit.record(principal, "token.revoke", "api_token", token_id)

    def authenticate(self, bearer: str) -> Principal:
        if bearer.startswith(TOKEN_PREFIX):
            with self.store.read() as session:
                row = session.execute(
                    select(ApiToken).where(ApiToken.token_hash == token_hash(bearer))
                ).scalar_one_or_none()
            if row is None or row.revoked_at is not None:
                raise Unauthorized("unknown or revoked API token", message_zh="API 令牌无效或已吊销")
            return Principal("token", str(row.id), Role(row.role), row.enterprise_id)
        principal = read_session(self.vault.session_key, bearer)
        with self.store.read() as session:
            user = session.get(User, int(principal.ident))
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        return principal

    def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        enterprise_id: int | None = None,
        *,
        principal: Principal | None = None,
    ) -> int:
        """A console account. ``principal``: who asks (issuer_admin); None for the CLI."""
        if principal is not None:
            self.require(principal, Role.ISSUER_ADMIN)
        errors: dict[str, tuple[str, str]] = {}
        if not 2 <= len(username) <= 64 or not username.isprintable() or username != username.strip():
            errors["username"] = ("用户名应为 2 到 64 个字符", "a username has 2 to 64 characters")
        if len(password) < 10:
            errors["password"] = ("密码至少 10 个字符", "a password has at least 10 characters")
        errors.update(_role_enterprise_errors(role, enterprise_id, ("企业管理员", "an enterprise_admin")))
        if errors:
            raise ValidationFailed(errors)
        with self.tx() as unit:
            if unit.session.execute(select(User.id).where(User.username == username)).first():
                raise Conflict("this username is taken", message_zh="该用户名已被使用")
            if enterprise_id is not None:
                self._enterprise(unit.session, SYSTEM, enterprise_id)
            user = User(
                username=username,
                password_hash=hash_password(password),
                role=role.value,
                enterprise_id=enterprise_id,
            )
            unit.session.add(user)
            unit.session.flush()
            unit.record(
                principal or SYSTEM,
                "user.create",
                "user",
                user.id,
                role=role.value,
                enterprise_id=enterprise_id,
            )
            return int(user.id)

    def set_user_disabled(self, principal: Principal, user_id: int, disabled: bool) -> User:
        """Disable (or enable again) a console account; a disabled account's sessions stop
        working at their next request (:meth:`authenticate` checks the flag)."""
        self.require(principal, Role.ISSUER_ADMIN)
        with self.tx() as unit:
            user = unit.session.get(User, user_id, with_for_update=True)
            if user is None:
                raise not_found("user", "用户")
            if principal.kind == "session" and principal.ident == str(user_id) and disabled:
                raise Conflict("you cannot disable your own account", message_zh="不能停用自己的账号")
            if user.disabled != disabled:
                user.disabled = disabled
                unit.record(principal, "user.disable" if disabled else "user.enable", "user", user_id)
            return user

    def renew_session(self, principal: Principal) -> tuple[str, datetime]:
        """A fresh session token for a signed-in console user who is still enabled (the consoles
        renew a session while it is used, so 30 minutes is an idle timeout, not a hard cut)."""
        if principal.kind != "session":
            raise Unauthorized("not a console session", message_zh="不是控制台会话")
        with self.store.read() as session:
            user = session.get(User, int(principal.ident))
        if user is None or user.disabled:
            raise Unauthorized("this account is disabled", message_zh="账号已停用")
        return issue_session(
            self.vault.session_key,
            user_id=user.id,
            role=Role(user.role),
            enterprise_id=user.enterprise_id,
            seconds=self.config.session_seconds,
        )

    def login(self, username: str, password: str) -> tuple[str, datetime, User]:
        with self.store.read() as session:
            user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        # Check a password even for an unknown user, so timing does not tell which names exist.
        stored = user.password_hash if user is not None else hash_password("-")
        if not check_password(password, stored) or user is None or user.disabled:
            raise Unauthorized("wrong username or password", message_zh="用户名或密码错误")
        token, expires = issue_session(
            self.vault.session_key,
            user_id=user.id,
            role=Role(user.role),
            enterprise_id=user.enterprise_id,
            seconds=self.config.session_seconds,
        )
        return token, expires, user

    # -- scope -----------------------------------------------------------------------------

    @staticmethod
    def require(principal: Principal, *roles: Role) -> None:
        if principal.role not in roles:
            raise forbidden()

    @staticmethod
    def visible(principal: Principal, enterprise_id: int) -> bool:
        return principal.enterprise_id is None or principal.enterprise_id == enterprise_id

    def enterprise_scope(
        self, principal: Principal, column: Any, enterprise_id: int | None = None
    ) -> list[Any]:
        """The conditions on an ``enterprise_id`` ``column`` of rows ``principal`` may see: its own
        enterprise's, or (the regulator, the issuer admin) this issuer's enterprises', narrowed
        to ``enterprise_id`` when asked. For tables that carry the enterprise, not the issuer."""
        if principal.enterprise_id is not None:
            return [column == principal.enterprise_id]
        ours = select(Enterprise.id).where(Enterprise.issuer_id == self.issuer_id)
        return [column.in_(ours)] + ([column == enterprise_id] if enterprise_id is not None else [])

    def _worker(
        self, session: Session, principal: Principal, worker_id: int, *, lock: bool = False
    ) -> Worker:
        query = select(Worker).where(Worker.id == worker_id, Worker.issuer_id == self.issuer_id)
        if principal.enterprise_id is not None:
            query = query.where(Worker.enterprise_id == principal.enterprise_id)
        if lock:
            query = query.with_for_update()
        worker = session.execute(query).scalar_one_or_none()
        if worker is None:  # another enterprise's worker looks exactly like no worker
            raise not_found("worker", "服务员")
        return worker

    def _enterprise(self, session: Session, principal: Principal, enterprise_id: int) -> Enterprise:
        enterprise = session.get(Enterprise, enterprise_id)
        if (
            enterprise is None
            or enterprise.issuer_id != self.issuer_id
            or not self.visible(principal, enterprise_id)
        ):
            raise not_found("enterprise", "企业")
        return enterprise

    def _credential(
        self, session: Session, principal: Principal, serial: int, *, lock: bool = False
    ) -> Credential:
        query = select(Credential).where(Credential.serial == serial, Credential.issuer_id == self.issuer_id)
        if lock:
            query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
        if row is None or not self.visible(principal, row.enterprise_id):
            raise not_found("credential", "安心码")
        return row

    # -- enterprises -----------------------------------------------------------------------

    def create_enterprise(self, unit: Unit, principal: Principal, data: dict[str, Any]) -> Enterprise:
        self.require(principal, Role.ISSUER_ADMIN)
        errors: dict[str, tuple[str, str]] = {}
        values: dict[str, Any] = {}
        for name, parse in (
            ("name", normalise_org_name),
            ("credit_code", normalise_credit_code),
            ("star_level", parse_star_level),
        ):
            if name not in data:
                if name != "star_level":
                    errors[name] = ("必填", "required")
                continue
            try:
                values[name] = parse(data[name])
            except ValueError as exc:
                errors[name] = (exc.args[0], exc.args[-1])
        for name in data:
            if name not in ("name", "credit_code", "star_level"):
                errors[name] = ("未知字段", "unknown field")
        if errors:
            raise ValidationFailed(errors)
        session = unit.session
        if session.execute(
            select(Enterprise.id).where(Enterprise.credit_code == values["credit_code"])
        ).first():
            raise Conflict(
                "an enterprise with this credit code exists", message_zh="该统一社会信用代码的企业已存在"
            )
        enterprise = Enterprise(issuer_id=self.issuer_id, **values)
        session.add(enterprise)
        session.flush()
        unit.record(principal, "enterprise.create", "enterprise", enterprise.id)
        return enterprise

    def list_enterprises(self, principal: Principal, *, after: int = 0, limit: int = 50) -> list[Enterprise]:
        self.require(principal, *_READERS)
        with self.store.read() as session:
            query = select(Enterprise).where(Enterprise.issuer_id == self.issuer_id, Enterprise.id > after)
            if principal.enterprise_id is not None:
                query = query.where(Enterprise.id == principal.enterprise_id)
            return list(session.execute(query.order_by(Enterprise.id).limit(limit)).scalars())

    def get_enterprise(self, principal: Principal, enterprise_id: int) -> Enterprise:
        self.require(principal, *_READERS)
        with self.store.read() as session:
            return self._enterprise(session, principal, enterprise_id)

    # -- workers ---------------------------------------------------------------------------

    def blacklisted(self, session: Session, id_hash: str) -> bool:
        return (
            session.execute(
                select(BlacklistEntry.id).where(
                    BlacklistEntry.id_hash == id_hash, BlacklistEntry.removed_at.is_(None)
                )
            ).first()
            is not None
        )

    def register_worker(
        self, unit: Unit, principal: Principal, data: WorkerInput, enterprise_id: int | None
    ) -> Worker:
        """Register one worker (see :meth:`register_workers`)."""
        worker_id = self.register_workers(unit, principal, [data], enterprise_id)[0]
        worker = unit.session.get(Worker, worker_id)
        assert worker is not None
        return worker

    def register_workers(
        self, unit: Unit, principal: Principal, items: Sequence[WorkerInput], enterprise_id: int | None
    ) -> list[int]:
        """Register validated workers at one enterprise; returns their ids in order.

        One query for blacklisted and one for already-registered persons, one INSERT for the
        batch. Raises 409 when anyone is on the blacklist or already at the enterprise (the
        import reports those rows instead of calling this with them).
        """
        self.require(principal, Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        target = principal.enterprise_id if principal.enterprise_id is not None else enterprise_id
        if target is None:
            raise ValidationFailed(
                {"enterprise_id": ("必填（签发机构管理员须指定企业）", "required for an issuer admin")}
            )
        if principal.enterprise_id is not None and enterprise_id not in (None, principal.enterprise_id):
            raise forbidden()
        session = unit.session
        self._enterprise(session, principal, target)
        if not items:
            return []
        hashes = [self.vault.identity_hash("id", data.id_number or "") for data in items]
        if len(set(hashes)) != len(hashes):
            raise Conflict("the same person appears twice", message_zh="同一人出现了两次")
        for chunk in _chunks(hashes, 900):
            if session.execute(
                select(BlacklistEntry.id).where(
                    BlacklistEntry.id_hash.in_(chunk), BlacklistEntry.removed_at.is_(None)
                )
            ).first():
                raise Conflict(
                    "this person is on the blacklist (失信名单)", message_zh="此人在失信名单中，不能登记"
                )
            if session.execute(
                select(Worker.id).where(Worker.enterprise_id == target, Worker.id_hash.in_(chunk))
            ).first():
                raise Conflict(
                    "this person is already registered at this enterprise", message_zh="此人已在本企业登记"
                )
        today = today_in_china()
        now = utcnow()
        rows = []
        for data, id_hash in zip(items, hashes, strict=True):
            assert data.id_number is not None and data.phone is not None and data.name is not None
            rows.append(
                {
                    "issuer_id": self.issuer_id,
                    "enterprise_id": target,
                    "name": data.name,
                    "id_hash": id_hash,
                    "id_cipher": self.vault.encrypt(data.id_number, "worker.id_number"),
                    "id_masked": mask_id(data.id_number),
                    "phone_hash": self.vault.identity_hash("phone", data.phone),
                    "phone_cipher": self.vault.encrypt(data.phone, "worker.phone"),
                    "phone_masked": mask_phone(data.phone),
                    "categories": data.categories or 0,
                    "skills": json.dumps(data.skills or [], ensure_ascii=False),
                    "star_level": data.star_level,
                    "health_valid_until": data.health_valid_until,
                    "insurance_valid_until": data.insurance_valid_until,
                    "attention": bool(lapsed(data.health_valid_until, data.insurance_valid_until, today)),
                    "photo_url": data.photo_url,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = [
            int(i)
            for i in session.execute(
                insert(Worker).returning(Worker.id, sort_by_parameter_order=True), rows
            ).scalars()
        ]
        trainings = [
            {"worker_id": worker_id, "name": name, "issued_on": issued_on, "institution": institution}
            for worker_id, data in zip(ids, items, strict=True)
            for name, issued_on, institution in data.trainings or []
        ]
        if trainings:
            session.execute(insert(Training), trainings)
        for worker_id in ids:
            unit.record(principal, "worker.create", "worker", worker_id, enterprise_id=target)
        return ids

    def update_worker(self, unit: Unit, principal: Principal, worker_id: int, data: WorkerInput) -> Worker:
        self.require(principal, Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        session = unit.session
        worker = self._worker(session, principal, worker_id, lock=True)
        changed: list[str] = []
        if "id_number" in data.given:
            raise ValidationFailed(
                {"id_number": ("身份证号不能修改（请重新登记）", "an ID number cannot change: register anew")}
            )
        for name in (
            "name",
            "categories",
            "star_level",
            "health_valid_until",
            "insurance_valid_until",
            "photo_url",
        ):
            if name in data.given and getattr(worker, name) != getattr(data, name):
                setattr(worker, name, getattr(data, name))
                changed.append(name)
        if "phone" in data.given and data.phone is not None:
            phone_hash = self.vault.identity_hash("phone", data.phone)
            if phone_hash != worker.phone_hash:
                worker.phone_hash = phone_hash
                worker.phone_cipher = self.vault.encrypt(data.phone, "worker.phone")
                worker.phone_masked = mask_phone(data.phone)
                changed.append("phone")
        if "skills" in data.given:
            worker.skills = json.dumps(data.skills or [], ensure_ascii=False)
            changed.append("skills")
        if "trainings" in data.given:
            for training in session.execute(
                select(Training).where(Training.worker_id == worker.id)
            ).scalars():
                session.delete(training)
            for name, issued_on, institution in data.trainings or []:
                session.add(
                    Training(worker_id=worker.id, name=name, issued_on=issued_on, institution=institution)
                )
            changed.append("trainings")
        if changed:
            worker.updated_at = utcnow()
            unit.record(principal, "worker.update", "worker", worker.id, fields=sorted(changed))
            self.refresh_attention(unit, principal, worker, today_in_china())
        return worker

    def refresh_attention(self, unit: Unit, principal: Principal, worker: Worker, today: date) -> bool:
        """Set or clear the worker's attention (安心码 yellow) and their live credential's bits."""
        items = attention_items(worker, today)
        flag = bool(items)
        if flag == worker.attention:
            return False
        worker.attention = flag
        unit.record(
            principal,
            "worker.attention_set" if flag else "worker.attention_cleared",
            "worker",
            worker.id,
            items=[i["item"] for i in items],
        )
        for row in unit.session.execute(
            select(Credential).where(Credential.worker_id == worker.id, Credential.status == "active")
        ).scalars():
            row.status_value = status_value(row.status, flag)
            unit.status_changed(row.serial, row.status_value)
        return True

    def get_worker(
        self, principal: Principal, worker_id: int
    ) -> tuple[Worker, list[Training], Credential | None]:
        self.require(principal, *_READERS)
        with self.store.read() as session:
            worker = self._worker(session, principal, worker_id)
            trainings = list(
                session.execute(
                    select(Training).where(Training.worker_id == worker_id).order_by(Training.issued_on)
                ).scalars()
            )
            live = session.execute(
                select(Credential).where(Credential.worker_id == worker_id, Credential.status != "revoked")
            ).scalar_one_or_none()
            return worker, trainings, live

    def _worker_query(
        self,
        principal: Principal,
        enterprise_id: int | None,
        q: str | None,
        status: str | None,
        category: int | None,
    ) -> Any:
        """The filtered worker query of a caller, or None when its scope makes it empty."""
        self.require(principal, *_READERS)
        if principal.enterprise_id is not None:
            if enterprise_id not in (None, principal.enterprise_id):
                return None  # another enterprise's list is empty, not an error that confirms it exists
            enterprise_id = principal.enterprise_id
        query = select(Worker).where(Worker.issuer_id == self.issuer_id)
        if enterprise_id is not None:
            query = query.where(Worker.enterprise_id == enterprise_id)
        if status:
            query = query.where(Worker.status == status)
        if category:
            query = query.where(Worker.categories.op("&")(category) != 0)
        if q and q.strip():
            query = query.where(self._search(q.strip()))
        return query

    def list_workers(
        self,
        principal: Principal,
        *,
        enterprise_id: int | None = None,
        q: str | None = None,
        status: str | None = None,
        page: int = 1,
        per_page: int = 20,
        after: int | None = None,
        category: int | None = None,
    ) -> tuple[list[Worker], bool]:
        """A page of workers in id order: ``after`` (keyset, any depth at index cost) or ``page``.

        Every filter is served by an index: (enterprise_id, id), (enterprise_id, name) for a
        name prefix, the keyed hashes for an exact ID or phone number. ``category`` is a bit
        set of :class:`~anxinma.credential.Category` bits (any of them matches).
        """
        query = self._worker_query(principal, enterprise_id, q, status, category)
        if query is None:
            return [], False
        query = query.where(Worker.id > after) if after is not None else query.offset((page - 1) * per_page)
        with self.store.read() as session:
            rows = list(session.execute(query.order_by(Worker.id).limit(per_page + 1)).scalars())
        return rows[:per_page], len(rows) > per_page

    def count_workers(
        self,
        principal: Principal,
        *,
        enterprise_id: int | None = None,
        q: str | None = None,
        status: str | None = None,
        category: int | None = None,
    ) -> int:
        """How many workers :meth:`list_workers` would page through (same scope, same filters)."""
        query = self._worker_query(principal, enterprise_id, q, status, category)
        if query is None:
            return 0
        counted = select(func.count()).select_from(query.with_only_columns(Worker.id).subquery())
        with self.store.read() as session:
            return int(session.execute(counted).scalar_one())

    def _search(self, q: str) -> Any:
        try:
            return Worker.id_hash == self.vault.identity_hash("id", normalise_id_number(q))
        except ValueError:
            pass
        digits = q.replace(" ", "").removeprefix("+86")
        if len(digits) == 11 and digits.isdigit():
            return Worker.phone_hash == self.vault.identity_hash("phone", digits)
        if q.isdigit():
            return Worker.id == int(q)
        if "*" in q:
            # A masked name as a credential shows it (李*霞, 王*): first character, then the last
            # one for names of three or more; the prefix keeps it a range on the name index.
            head, _, tail = q.partition("*")
            tail = tail.replace("*", "")
            condition = and_(Worker.name >= head, Worker.name < head + "\U0010ffff") if head else true()
            if tail:
                pattern = tail.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                return and_(
                    condition,
                    Worker.name.like("%" + pattern, escape="\\"),
                    func.length(Worker.name) >= len(head) + len(tail) + 1,
                )
            return condition
        # A name prefix as a range on the (byte-ordered) name index.
        return and_(Worker.name >= q, Worker.name < q + "\U0010ffff")

    def worker_archive(self, principal: Principal, worker_id: int) -> WorkerArchive:
        """The worker's archive (信用档案) in one read, under the caller's scope (another
        enterprise's worker is 404): the worker, trainings, every credential newest first.
        Ratings and complaints are the service loop's (:class:`anxinma.issuer.visits.ServiceLoop`)."""
        self.require(principal, *_READERS)
        with self.store.read() as session:
            worker = self._worker(session, principal, worker_id)
            trainings = list(
                session.execute(
                    select(Training).where(Training.worker_id == worker_id).order_by(Training.issued_on)
                ).scalars()
            )
            credentials = list(
                session.execute(
                    select(Credential)
                    .where(Credential.worker_id == worker_id)
                    .order_by(Credential.serial.desc())
                    .limit(50)
                ).scalars()
            )
            enterprise = session.get(Enterprise, worker.enterprise_id)
        assert enterprise is not None
        return WorkerArchive(
            worker=worker,
            enterprise=enterprise,
            trainings=trainings,
            credentials=credentials,
        )

    def import_workers(
        self,
        principal: Principal,
        enterprise_id: int | None,
        rows: Sequence[dict[str, Any]],
        *,
        issue: bool = False,
    ) -> ImportReport:
        """Register many workers; each row is imported whole or reported with its errors.

        A row naming a person already registered at the enterprise is reported ``existing``
        and left as it is, so importing the same file twice creates nothing the second time.
        Valid rows commit together in one transaction.
        """
        self.require(principal, Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        if principal.enterprise_id is not None and enterprise_id not in (None, principal.enterprise_id):
            raise not_found("enterprise", "企业")
        report = ImportReport(rows=len(rows))
        valid = validate_import_rows(rows, report.errors)
        self.import_valid_rows(principal, enterprise_id, valid, report, issue=issue)
        return report

    def _import_target(self, session: Session, principal: Principal, enterprise_id: int | None) -> int:
        self.require(principal, Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN)
        if principal.enterprise_id is not None and enterprise_id not in (None, principal.enterprise_id):
            raise not_found("enterprise", "企业")
        target = principal.enterprise_id if principal.enterprise_id is not None else enterprise_id
        if target is None:
            raise ValidationFailed(
                {"enterprise_id": ("必填（签发机构管理员须指定企业）", "required for an issuer admin")}
            )
        self._enterprise(session, principal, target)
        return target

    def _classify_import(
        self, session: Session, target: int, valid: Sequence[ImportRow]
    ) -> tuple[dict[int, int], dict[int, dict[str, Any]], list[ImportRow]]:
        """(row -> existing worker id, row -> error of a blacklisted person, rows to create)."""
        hashes = {self.vault.identity_hash("id", item.data.id_number or ""): item for item in valid}
        existing: dict[str, int] = {}
        listed: set[str] = set()
        for chunk in _chunks(list(hashes), 900):
            existing.update(
                session.execute(
                    select(Worker.id_hash, Worker.id).where(
                        Worker.enterprise_id == target, Worker.id_hash.in_(chunk)
                    )
                ).all()
            )
            listed |= set(
                session.execute(
                    select(BlacklistEntry.id_hash).where(
                        BlacklistEntry.id_hash.in_(chunk), BlacklistEntry.removed_at.is_(None)
                    )
                ).scalars()
            )
        found: dict[int, int] = {}
        refused: dict[int, dict[str, Any]] = {}
        fresh: list[ImportRow] = []
        for id_hash, item in hashes.items():
            if id_hash in existing:
                found[item.row] = int(existing[id_hash])
            elif id_hash in listed:
                refused[item.row] = {
                    "row": item.row,
                    "fields": {
                        "id_number": {"zh": "此人在失信名单中", "en": "this person is on the blacklist"}
                    },
                }
            else:
                fresh.append(item)
        return found, refused, fresh

    def preview_import(
        self, principal: Principal, enterprise_id: int | None, valid: Sequence[ImportRow]
    ) -> tuple[dict[int, int], dict[int, dict[str, Any]]]:
        """What an import of these validated rows would do, writing nothing: (row -> id of the
        worker already registered, row -> error of a blacklisted person); the rest would be new."""
        with self.store.read() as session:
            target = self._import_target(session, principal, enterprise_id)
            found, refused, _ = self._classify_import(session, target, valid)
        return found, refused

    def import_valid_rows(
        self,
        principal: Principal,
        enterprise_id: int | None,
        valid: Sequence[ImportRow],
        report: ImportReport,
        *,
        issue: bool = False,
    ) -> ImportReport:
        """Import rows :func:`validate_import_rows` accepted, in one transaction, adding the
        outcome to ``report`` (created, existing, blacklisted rows as errors). The console runs
        a large file through this in chunks, so it can show progress."""
        with self.tx() as unit:
            target = self._import_target(unit.session, principal, enterprise_id)
            found, refused, fresh = self._classify_import(unit.session, target, valid)
            report.existing.extend(found.values())
            report.errors.extend(refused.values())
            new_ids = self.register_workers(unit, principal, [item.data for item in fresh], target)
            report.created.extend(new_ids)
            if issue and new_ids:
                issued = self.issue_many(unit, principal, [IssueItem(w) for w in new_ids])
                report.credentials.extend(i.row.serial for i in issued)
        report.errors.sort(key=lambda e: int(e["row"]))
        return report

    # -- credentials -----------------------------------------------------------------------

    def _allocate(self, session: Session, count: int) -> int:
        """Reserve ``count`` consecutive serials; returns the first. The counter row stays
        locked until commit, so serials are gapless and never handed out twice."""
        top = session.execute(
            update(Counter)
            .where(Counter.name == "serial")
            .values(value=Counter.value + count)
            .returning(Counter.value)
        ).scalar_one()
        return int(top) - count

    def issue_many(self, unit: Unit, principal: Principal, items: Sequence[IssueItem]) -> list[Issued]:
        """Sign and store a credential for each worker (the batch path the API also uses for one).

        A worker's live credential is revoked with reason ``replaced`` in the same transaction
        (one live credential per worker). Raises :class:`ApiError` for a worker not visible to
        the caller (404), a blacklisted person or a worker who left (409).
        """
        self.require(principal, Role.ISSUER_ADMIN, Role.ENTERPRISE_ADMIN, Role.CARD_OPERATOR)
        if not items:
            return []
        session = unit.session
        ids = [item.worker_id for item in items]
        if len(set(ids)) != len(ids):
            raise ValidationFailed(
                {"worker_id": ("同一服务员在一批中出现两次", "a worker appears twice in one batch")}
            )
        workers: dict[int, Worker] = {}
        for chunk in _chunks(ids, 900):
            query = select(Worker).where(Worker.id.in_(chunk), Worker.issuer_id == self.issuer_id)
            if principal.enterprise_id is not None:
                query = query.where(Worker.enterprise_id == principal.enterprise_id)
            workers.update({w.id: w for w in session.execute(query.with_for_update()).scalars()})
        if len(workers) != len(ids):
            raise not_found("worker", "服务员")
        listed: set[str] = set()
        hashes: list[str] = sorted({w.id_hash for w in workers.values()})
        for hash_chunk in _chunks(hashes, 900):
            listed |= set(
                session.execute(
                    select(BlacklistEntry.id_hash).where(
                        BlacklistEntry.id_hash.in_(hash_chunk), BlacklistEntry.removed_at.is_(None)
                    )
                ).scalars()
            )
        for worker in workers.values():
            if worker.id_hash in listed or worker.status == "blacklisted":
                raise Conflict(
                    "this person is on the blacklist (失信名单): no new credential",
                    message_zh="此人在失信名单中，不能签发安心码",
                )
            if worker.status == "left":  # issuing again means the enterprise took the worker back
                worker.status = "active"
                unit.record(principal, "worker.rejoined", "worker", worker.id)
            if not worker.categories:
                raise ValidationFailed({"categories": ("至少一个服务类别", "at least one service category")})
        previous: dict[int, Credential] = {}
        for chunk in _chunks(ids, 900):
            for live in session.execute(
                select(Credential)
                .where(Credential.worker_id.in_(chunk), Credential.status != "revoked")
                .with_for_update()
            ).scalars():
                previous[int(live.worker_id or 0)] = live
        enterprises = {
            e.id: e
            for e in session.execute(
                select(Enterprise).where(Enterprise.id.in_({w.enterprise_id for w in workers.values()}))
            ).scalars()
        }
        for worker in workers.values():
            if enterprises[worker.enterprise_id].status == "blacklisted":
                raise Conflict("the enterprise is on the blacklist", message_zh="该企业在失信名单中")
        first = self._allocate(session, len(items))
        kid, key = self.keys.signing_key()
        today = today_in_china()
        issued_at = fmt.parse_when(today, "issued_at")
        expires_on = today + timedelta(days=self.config.credential_days)
        expires_at = fmt.parse_when(expires_on, "expires_at")
        now = utcnow()
        revoked_rows: list[dict[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        results: list[Issued] = []
        for offset, item in enumerate(items):
            worker = workers[item.worker_id]
            serial = first + offset
            old = previous.get(worker.id)
            if old is not None:
                revoked_rows.append(
                    {
                        "serial": old.serial,
                        "status": "revoked",
                        "status_value": int(CredentialStatus.REVOKED),
                        "revocation_reason": "replaced",
                        "revoked_at": now,
                        "replaced_by": serial,
                    }
                )
                unit.record(
                    principal,
                    "credential.revoke",
                    "credential",
                    old.serial,
                    reason="replaced",
                    replaced_by=serial,
                )
                unit.status_changed(old.serial, int(CredentialStatus.REVOKED), "replaced")
            claims = fmt.Claims(
                issuer_code=self.issuer_code,
                serial=serial,
                subject_kind=fmt.SubjectKind.WORKER,
                archive_id=worker.id,
                enterprise_id=worker.enterprise_id,
                display_name=fmt.mask_name(worker.name),
                categories=fmt.categories_from_bits(worker.categories),
                issued_at=issued_at,
                expires_at=expires_at,
                card_uid=item.card_uid,
                holder_key=item.holder_key,
            )
            signed = fmt.sign(claims, key, kid)
            value = status_value("active", worker.attention)
            row: dict[str, Any] = {
                "serial": serial,
                "issuer_id": self.issuer_id,
                "subject_kind": "worker",
                "worker_id": worker.id,
                "enterprise_id": worker.enterprise_id,
                "kid": kid.hex(),
                "issued_on": today,
                "expires_on": expires_on,
                "status": "active",
                "status_value": value,
                "revocation_reason": None,
                "revoked_at": None,
                "card_uid": item.card_uid.hex() if item.card_uid else None,
                "replaced_by": None,
                "raw": signed.to_bytes(),
                "change_seq": 0,
                "created_at": now,
            }
            new_rows.append(row)
            unit.record(
                principal,
                "credential.issue",
                "credential",
                serial,
                worker_id=worker.id,
                card_bound=item.card_uid is not None,
                replaced=old.serial if old is not None else None,
            )
            unit.status_changed(serial, value)
            results.append(Issued(Credential(**row), signed, old.serial if old is not None else None))
        if revoked_rows:  # ORM bulk UPDATE by primary key, one statement for the batch
            session.execute(update(Credential), revoked_rows)
        session.execute(insert(Credential), new_rows)
        return results

    def issue_enterprise_credential(self, unit: Unit, principal: Principal, enterprise_id: int) -> Issued:
        """一企一证一码: the enterprise's own credential (one live at a time)."""
        self.require(principal, Role.ISSUER_ADMIN)
        session = unit.session
        enterprise = self._enterprise(session, principal, enterprise_id)
        if enterprise.status == "blacklisted":
            raise Conflict("the enterprise is on the blacklist", message_zh="该企业在失信名单中")
        old = session.execute(
            select(Credential)
            .where(
                Credential.enterprise_id == enterprise_id,
                Credential.subject_kind == "enterprise",
                Credential.status != "revoked",
            )
            .with_for_update()
        ).scalar_one_or_none()
        serial = self._allocate(session, 1)
        if old is not None:
            self._set_status(unit, principal, old, "revoked", "replaced")
            old.replaced_by = serial
            session.flush()
        kid, key = self.keys.signing_key()
        today = today_in_china()
        expires_on = today + timedelta(days=self.config.credential_days)
        claims = fmt.Claims(
            issuer_code=self.issuer_code,
            serial=serial,
            subject_kind=fmt.SubjectKind.ENTERPRISE,
            archive_id=enterprise.id,
            enterprise_id=enterprise.id,
            display_name=enterprise.name,
            categories=frozenset(),
            issued_at=fmt.parse_when(today, "issued_at"),
            expires_at=fmt.parse_when(expires_on, "expires_at"),
        )
        signed = fmt.sign(claims, key, kid)
        row = Credential(
            serial=serial,
            issuer_id=self.issuer_id,
            subject_kind="enterprise",
            worker_id=None,
            enterprise_id=enterprise.id,
            kid=kid.hex(),
            issued_on=today,
            expires_on=expires_on,
            status="active",
            status_value=0,
            raw=signed.to_bytes(),
            change_seq=0,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        unit.record(
            principal,
            "credential.issue",
            "credential",
            serial,
            enterprise_id=enterprise.id,
            subject="enterprise",
        )
        unit.status_changed(serial, 0)
        return Issued(row, signed, old.serial if old is not None else None)

    def get_credential(self, principal: Principal, serial: int) -> Credential:
        self.require(principal, *_READERS)
        with self.store.read() as session:
            return self._credential(session, principal, serial)

    def enterprise_credential(self, principal: Principal, enterprise_id: int) -> Credential:
        self.require(principal, *_READERS)
        with self.store.read() as session:
            self._enterprise(session, principal, enterprise_id)
            row = session.execute(
                select(Credential).where(
                    Credential.enterprise_id == enterprise_id,
                    Credential.subject_kind == "enterprise",
                    Credential.status != "revoked",
                )
            ).scalar_one_or_none()
        if row is None:
            raise not_found("enterprise credential", "企业安心码")
        return row

    def _set_status(
        self, unit: Unit, principal: Principal, row: Credential, status: str, reason: str | None
    ) -> None:
        attention = False
        if row.worker_id is not None and status == "active":
            worker = unit.session.get(Worker, row.worker_id)
            attention = bool(worker and worker.attention)
        row.status = status
        row.status_value = status_value(status, attention)
        if status == "revoked":
            row.revocation_reason = reason
            row.revoked_at = utcnow()
        action = {
            "revoked": "credential.revoke",
            "suspended": "credential.suspend",
            "active": "credential.reinstate",
        }[status]
        unit.record(principal, action, "credential", row.serial, reason=reason)
        unit.status_changed(row.serial, row.status_value, reason)

    def change_status(
        self, unit: Unit, principal: Principal, serial: int, action: str, reason: str | None
    ) -> tuple[Credential, bool]:
        """Revoke, suspend or reinstate; returns (row, whether anything changed).

        Revocation is final (409 on suspend/reinstate of a revoked credential); repeating the
        same action changes nothing and writes no audit entry.
        """
        self.require(principal, Role.ISSUER_ADMIN, Role.REGULATOR, Role.ENTERPRISE_ADMIN)
        if action != "revoke" and reason is not None and (not isinstance(reason, str) or len(reason) > 16):
            raise ValidationFailed({"reason": ("原因最多 16 个字符", "at most 16 characters")})
        row = self._credential(unit.session, principal, serial, lock=True)
        if action == "revoke":
            if reason not in REVOKE_REASONS:
                raise ValidationFailed(
                    {
                        "reason": (
                            "吊销原因应为 left（离职）、lost（遗失）、misconduct（违规）或 blacklisted（失信）",
                            "reason is one of left, lost, misconduct, blacklisted",
                        )
                    }
                )
            if row.status == "revoked":
                return row, False
            self._set_status(unit, principal, row, "revoked", reason)
            if reason == "left" and row.worker_id is not None:
                worker = unit.session.get(Worker, row.worker_id)
                if worker is not None and worker.status == "active":
                    worker.status = "left"
                    unit.record(principal, "worker.left", "worker", worker.id)
            return row, True
        if row.status == "revoked":
            raise Conflict(
                "the credential is revoked; revocation is final", message_zh="该安心码已吊销，吊销不可撤回"
            )
        target = "suspended" if action == "suspend" else "active"
        if row.status == target:
            return row, False
        self._set_status(unit, principal, row, target, reason)
        return row, True

    # -- blacklist (失信名单) -----------------------------------------------------------------

    def blacklist_add(
        self, unit: Unit, principal: Principal, data: dict[str, Any]
    ) -> tuple[BlacklistEntry, list[int]]:
        """List a person: every live credential of theirs, at any enterprise, is revoked
        (reason ``blacklisted``) in this transaction, and no new one is issued."""
        self.require(principal, Role.REGULATOR, Role.ISSUER_ADMIN)
        errors: dict[str, tuple[str, str]] = {}
        try:
            id_number = normalise_id_number(data.get("id_number"))
        except ValueError as exc:
            errors["id_number"] = (exc.args[0], exc.args[-1])
        for name, limit in (("reason", 500), ("evidence_ref", 256)):
            value = data.get(name)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                errors[name] = (f"必填，最多 {limit} 字", f"required, at most {limit} characters")
        if errors:
            raise ValidationFailed(errors)
        session = unit.session
        id_hash = self.vault.identity_hash("id", id_number)
        if self.blacklisted(session, id_hash):
            raise Conflict("this person is already on the blacklist", message_zh="此人已在失信名单中")
        entry = BlacklistEntry(
            id_hash=id_hash,
            id_masked=mask_id(id_number),
            reason=data["reason"].strip(),
            evidence_ref=data["evidence_ref"].strip(),
            added_by=principal.actor,
        )
        session.add(entry)
        session.flush()
        unit.record(principal, "blacklist.add", "blacklist", entry.id, evidence_ref=entry.evidence_ref)
        revoked: list[int] = []
        for worker in session.execute(
            select(Worker).where(Worker.id_hash == id_hash).with_for_update()
        ).scalars():
            worker.status = "blacklisted"
            unit.record(principal, "worker.blacklisted", "worker", worker.id, blacklist_id=entry.id)
            for row in session.execute(
                select(Credential)
                .where(Credential.worker_id == worker.id, Credential.status != "revoked")
                .with_for_update()
            ).scalars():
                self._set_status(unit, principal, row, "revoked", "blacklisted")
                revoked.append(row.serial)
        return entry, revoked

    def blacklist_remove(
        self, unit: Unit, principal: Principal, entry_id: int, reason: Any
    ) -> BlacklistEntry:
        self.require(principal, Role.REGULATOR, Role.ISSUER_ADMIN)
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationFailed(
                {"reason": ("必填：移出失信名单的理由", "required: why the person is removed")}
            )
        entry = unit.session.get(BlacklistEntry, entry_id, with_for_update=True)
        if entry is None:
            raise not_found("blacklist entry", "失信名单记录")
        if entry.removed_at is not None:
            raise Conflict("this entry was already removed", message_zh="该记录已移出")
        entry.removed_at, entry.removed_by, entry.removal_reason = (
            utcnow(),
            principal.actor,
            reason.strip()[:500],
        )
        unit.record(principal, "blacklist.remove", "blacklist", entry.id)
        for worker in unit.session.execute(
            select(Worker).where(Worker.id_hash == entry.id_hash, Worker.status == "blacklisted")
        ).scalars():
            worker.status = "active"  # may be issued again; the revoked credentials stay revoked
            unit.record(principal, "worker.unblacklisted", "worker", worker.id, blacklist_id=entry.id)
        return entry

    def blacklist(
        self, principal: Principal, *, active_only: bool = True, after: int = 0, limit: int = 50
    ) -> list[BlacklistEntry]:
        self.require(principal, Role.REGULATOR, Role.ISSUER_ADMIN)
        with self.store.read() as session:
            query = select(BlacklistEntry).where(BlacklistEntry.id > after)
            if active_only:
                query = query.where(BlacklistEntry.removed_at.is_(None))
            return list(session.execute(query.order_by(BlacklistEntry.id).limit(limit)).scalars())

    # -- the daily job ---------------------------------------------------------------------

    def daily(self, today: date | None = None, *, batch: int = 500) -> dict[str, int]:
        """Set attention where a certificate or insurance lapsed (and clear it where the dates
        say so); index range scans on (attention, date), one transaction per batch."""
        day = today or today_in_china()
        job = Principal("system", "daily", Role.ISSUER_ADMIN)
        counts = {"attention_set": 0, "attention_cleared": 0}
        lapsed = and_(
            Worker.attention.is_(False),
            or_(
                Worker.health_valid_until < day,
                Worker.insurance_valid_until < day,
                Worker.health_valid_until.is_(None),
                Worker.insurance_valid_until.is_(None),
            ),
        )
        restored = and_(
            Worker.attention.is_(True), Worker.health_valid_until >= day, Worker.insurance_valid_until >= day
        )
        for condition, key in ((lapsed, "attention_set"), (restored, "attention_cleared")):
            last = 0
            while True:
                with self.tx() as unit:
                    workers = list(
                        unit.session.execute(
                            select(Worker)
                            .where(condition, Worker.id > last)
                            .order_by(Worker.id)
                            .limit(batch)
                            .with_for_update()
                        ).scalars()
                    )
                    for worker in workers:
                        if self.refresh_attention(unit, job, worker, day):
                            counts[key] += 1
                if len(workers) < batch:
                    break
                last = workers[-1].id
        self.scans.flush()
        return counts

    # -- the live record -------------------------------------------------------------------

    def live_record(self, code: Any) -> str:
        """The signed live record of the presented credential (:class:`LiveRecords`)."""
        return self.live.record(code)

    def scan_counts(
        self, principal: Principal, worker_id: int, since: date, until: date
    ) -> list[tuple[date, int]]:
        self.require(principal, *_READERS)
        self.scans.flush()
        with self.store.read() as session:
            self._worker(session, principal, worker_id)
            return [
                (day, int(count))
                for day, count in session.execute(
                    select(ScanCount.day, ScanCount.count)
                    .where(ScanCount.worker_id == worker_id, ScanCount.day >= since, ScanCount.day <= until)
                    .order_by(ScanCount.day)
                )
            ]

    def audit_verify(self) -> audit.AuditReport:
        with self.store.read() as session:
            return audit.verify(session, self.vault.audit_key)

    def close(self) -> None:
        self.scans.flush()


def validate_import_rows(
    rows: Sequence[dict[str, Any]], errors: list[dict[str, Any]], *, first_row: int = 2
) -> list[ImportRow]:
    """Check every row of an import file (the API's field rules) without touching the store.

    Row numbers count from ``first_row`` (2: row 1 is the header). A row with bad fields, or
    naming the same person as an earlier row, is appended to ``errors`` with a message per
    field; the rows returned are the ones an import would go on to register.
    """
    seen: dict[str, int] = {}
    valid: list[ImportRow] = []
    for number, raw in enumerate(rows, start=first_row):
        try:
            data = worker_input(raw)
        except ValidationFailed as exc:
            errors.append(
                {"row": number, "fields": {k: {"zh": zh, "en": en} for k, (zh, en) in exc.fields.items()}}
            )
            continue
        assert data.id_number is not None
        if data.id_number in seen:
            errors.append(
                {
                    "row": number,
                    "fields": {
                        "id_number": {
                            "zh": f"与第 {seen[data.id_number]} 行重复",
                            "en": f"same person as row {seen[data.id_number]}",
                        }
                    },
                }
            )
            continue
        seen[data.id_number] = number
        valid.append(ImportRow(number, data))
    return valid


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _stamp(session: Session, serials: list[int], seq: int) -> None:
    """Set ``change_seq`` of the changed credentials: one UPDATE per run of consecutive serials."""
    runs: list[tuple[int, int]] = []
    for serial in serials:
        if runs and serial == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], serial)
        else:
            runs.append((serial, serial))
    for low, high in runs:
        session.execute(
            update(Credential)
            .where(Credential.serial.between(low, high))
            .values(change_seq=seq)
            .execution_options(synchronize_session=False)
        )


__all__ = [
    "AnxinmaError",
    "ApiError",
    "ImportRow",
    "IssueItem",
    "Issued",
    "IssuerService",
    "Unit",
    "WorkerArchive",
    "validate_import_rows",
]


def _role_enterprise_errors(
    role: Role, enterprise_id: int | None, what: tuple[str, str]
) -> dict[str, tuple[str, str]]:
    """The one rule for tokens and console accounts alike (``what`` names which, 中文 and
    English): an enterprise administrator names its enterprise; the issuer admin and the
    regulator belong to none (a card operator may)."""
    if role is Role.ENTERPRISE_ADMIN and enterprise_id is None:
        return {"enterprise": (f"{what[0]}必须指定企业", f"{what[1]} names its enterprise")}
    if role in (Role.ISSUER_ADMIN, Role.REGULATOR) and enterprise_id is not None:
        return {"enterprise": ("该角色不属于某个企业", "this role is not tied to an enterprise")}
    return {}
