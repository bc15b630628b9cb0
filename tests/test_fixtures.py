"""The real parts the other tests stand on: each fixture starts what it says and isolates it."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests.conftest import RedisServer


@pytest.mark.redis
def test_redis_server_fixture_is_a_private_server_that_can_be_killed(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    assert redis_server.port != 6379
    client.set("anxinma:probe", "1")
    assert client.get("anxinma:probe") == b"1"
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_server.url, socket_timeout=1).ping()
    redis_server.start()  # a fresh process on the same port keeps nothing (no persistence)
    assert redis.Redis.from_url(redis_server.url, socket_timeout=2).get("anxinma:probe") is None


@pytest.mark.postgres
def test_postgres_url_fixture_gives_each_test_its_own_schema(postgres_url: str) -> None:
    schema = postgres_url.rsplit("%3D", 1)[1]
    with psycopg.connect(
        "host=127.0.0.1 port=5432 dbname=test user=postgres", options=f"-csearch_path={schema}"
    ) as conn:
        conn.execute("CREATE TABLE probe (id int)")
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    assert tables == [("probe",)]
