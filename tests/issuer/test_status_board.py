"""Cold start and recovery (issue 19, item 4): a process's status board reads a shard when it is
first asked for (its non-valid rows and its highest serial), not every credential at start, and
still sees every change made before and after; a Redis that comes back empty is rebuilt by one
process, not by every process at once. Figures at 1 M and 10 M: bench/bench_cold_start.py."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from sqlalchemy import insert, select

from anxinma.issuer.services.propagation import RedisMirror
from anxinma.issuer.services.status import StatusBoard
from anxinma.issuer.store.db import Store
from anxinma.issuer.store.models import Credential
from anxinma.status_list import SHARD_SIZE, StatusArray, shard_of
from tests.conftest import LiveIssuer, RedisServer

SECOND_SHARD = SHARD_SIZE + 7


def _board(issuer: LiveIssuer) -> StatusBoard:
    """A board of a second process on the issuer's database: nothing read yet."""
    code = issuer.runtime.keys.issuer.code
    return StatusBoard(
        issuer.runtime.store,
        issuer_code=code,
        uri_for=lambda shard: f"{issuer.url}/status/{code}/{shard}",
        signing_key=issuer.runtime.keys.signing_key,
        ttl=300,
        min_sync_interval=0.0,
    )


def _clone(store: Store, serials: dict[int, int]) -> None:
    """Rows for ``serials`` (serial -> status value) copied from the first credential, bound to
    no worker: stand-ins for credentials issued far along the serial range."""
    with store.write() as session:
        model = session.execute(select(Credential).order_by(Credential.serial).limit(1)).scalar_one()
        columns = {c.key: getattr(model, c.key) for c in Credential.__table__.columns}
        rows = [
            columns
            | {
                "serial": serial,
                "worker_id": None,
                "status_value": value,
                "status": "revoked" if value == 1 else "active",
                "change_seq": 0,
            }
            for serial, value in serials.items()
        ]
        session.execute(insert(Credential), rows)


def _truth(store: Store) -> dict[int, StatusArray]:
    """Every shard recomputed from every row: what a board must equal."""
    arrays: dict[int, StatusArray] = {}
    with store.read() as session:
        for serial, value in session.execute(select(Credential.serial, Credential.status_value)):
            shard, index = shard_of(int(serial))
            arrays.setdefault(shard, StatusArray()).set(index, int(value))
    return arrays


def test_a_cold_board_reads_only_the_shard_it_is_asked_for(live_issuer: LiveIssuer) -> None:
    serials = [int(live_issuer.credential()["serial"]) for _ in range(3)]  # type: ignore[call-overload]
    live_issuer.api("POST", f"/api/v1/credentials/{serials[1]}/revoke", json={"reason": "lost"})
    _clone(live_issuer.runtime.store, {SECOND_SHARD: 1, SECOND_SHARD + 2: 0})
    board = _board(live_issuer)
    assert board.value(serials[1]) == 1 and board.value(serials[0]) == 0
    assert board.held_shards() == [0]  # the other shard was not read
    assert board.shards() == [0, 1]  # both are listed without reading either
    assert board.held_shards() == [0]
    assert board.value(SECOND_SHARD) == 1 and board.value(SECOND_SHARD + 2) == 0
    second = board.array(1)
    assert second is not None and second.size == 10  # up to its highest serial, 1 048 585
    assert board.held_shards() == [0, 1]
    assert board.value(SECOND_SHARD + 3) is None  # beyond the highest serial: not issued


def test_changes_before_and_after_a_shard_is_read_are_all_seen(issuer_on: LiveIssuer) -> None:
    store = issuer_on.runtime.store
    serials = [int(issuer_on.credential()["serial"]) for _ in range(6)]  # type: ignore[call-overload]
    _clone(store, {SECOND_SHARD: 0, SECOND_SHARD + 1: 0})
    board = _board(issuer_on)
    board.sync()  # the process has started: it knows where the change sequence stands
    rng = random.Random(19)
    for step in range(40):
        serial = rng.choice(serials)
        action = rng.choice(["revoke", "suspend", "reinstate", "issue", "far", "read"])
        if action == "issue":
            serials.append(int(issuer_on.credential()["serial"]))  # type: ignore[call-overload]
        elif action == "far":  # a change in the other shard (read or not yet), by another process
            far = SECOND_SHARD + step % 2
            answer = issuer_on.api(
                "POST", f"/api/v1/credentials/{far}/{rng.choice(['suspend', 'reinstate'])}", json={}
            )
            assert answer.status_code in (200, 409), answer.text
        elif action == "read":
            board.value(serial)
        else:
            issuer_on.api("POST", f"/api/v1/credentials/{serial}/{action}", json={"reason": "lost"})
        if step % 7 == 3:
            board.array(rng.choice([0, 1]))  # read a shard in the middle of the series
    board.sync(force=True)
    for shard, truth in _truth(store).items():
        held = board.array(shard)
        assert held is not None
        assert (held.size, held.to_bytes()) == (truth.size, truth.to_bytes()), shard


def test_a_redis_that_comes_back_empty_is_rebuilt_by_one_process(
    live_issuer: LiveIssuer, redis_server: RedisServer, tmp_path: Path
) -> None:
    store = live_issuer.runtime.store
    live_issuer.credential()
    rng = random.Random(4)
    _clone(store, {SHARD_SIZE // 2 + i: rng.choice([1, 2, 3]) for i in range(40_000)})
    code = live_issuer.runtime.keys.issuer.code
    mirrors = [RedisMirror(redis_server.url, store, code) for _ in range(4)]  # four processes
    start = threading.Barrier(len(mirrors))
    outcomes: list[str] = []

    def reconcile(mirror: RedisMirror) -> None:
        start.wait()
        outcomes.append(mirror.reconcile())

    try:
        threads = [threading.Thread(target=reconcile, args=(m,)) for m in mirrors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(m.rebuilds for m in mirrors) == 1, outcomes
        assert sorted(outcomes) == ["rebuilding_elsewhere"] * 3 + ["rebuilt"]
        assert {m.reconcile() for m in mirrors} == {"in_sync"}  # the next round: all in step
        truth = _truth(store)
        assert mirrors[0].shard_bytes(0) == truth[0].to_bytes()
        assert not mirrors[0].client.exists(mirrors[0].rebuild_key)  # the lock is freed
    finally:
        for mirror in mirrors:
            mirror.close()
