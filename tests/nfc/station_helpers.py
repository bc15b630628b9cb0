"""Shared by the station tests: batches, the invariant every run must leave, reading reports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from anxinma import credential as fmt
from anxinma.errors import MalformedCredential
from anxinma.ndef import decode_message


def worker_names(count: int) -> dict[str, str]:
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    return {
        f"w{i:03d}": f"{surnames[i % len(surnames)]}*{'芳霞英敏静丽强军'[i % 8]}" for i in range(1, count + 1)
    }


def write_batch(
    path: Path,
    workers: dict[str, str],
    *,
    photo: bool = True,
    enterprise: tuple[object, object] = ("253", "宁波安心家政服务有限公司"),
) -> Path:
    """A batch file of ``workers``, all in ``enterprise`` (id, name): the station checks that
    pair against the issuer's record of each worker, so against a live issuer pass its own."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            ["worker_id", "display_name", "enterprise_id", "enterprise_name"] + (["photo"] if photo else [])
        )
        for worker_id, name in workers.items():
            writer.writerow(
                [worker_id, name, str(enterprise[0]), str(enterprise[1])]
                + ([f"photos/{worker_id}.jpg"] if photo else [])
            )
    return path


def read_report(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return {row["worker_id"]: row for row in csv.DictReader(stream)}


def card_credential(message: bytes) -> fmt.Credential | None:
    try:
        return fmt.decode(decode_message(message))
    except MalformedCredential:
        return None


def assert_one_live_credential_per_worker_on_one_card(
    issuer: object, workers: Iterable[str], cards: Sequence[tuple[bytes, bytes]]
) -> dict[str, tuple[int, bytes]]:
    """Every worker has exactly one live credential, it is bound to exactly one card, and that
    card (and no other) carries it. ``cards`` are (uid, NDEF message) of every card used.
    Returns worker -> (serial, card uid)."""
    live_of = issuer.live
    result: dict[str, tuple[int, bytes]] = {}
    for worker_id in workers:
        live = live_of(worker_id)
        assert len(live) == 1, f"{worker_id} has {len(live)} live credentials"
        serial, uid = live[0].serial, bytes.fromhex(live[0].card_uid)
        holding = [card_uid for card_uid, message in cards if _serial_on(message) == serial]
        assert holding == [uid], f"{worker_id}'s serial {serial} is on {holding}, bound to {uid.hex()}"
        result[worker_id] = (serial, uid)
    assert len({uid for _, uid in result.values()}) == len(result), "two workers bound to one card"
    return result


def _serial_on(message: bytes) -> int | None:
    credential = card_credential(message)
    return credential.claims.serial if credential is not None else None
