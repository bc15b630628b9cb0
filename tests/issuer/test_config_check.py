"""Configuration checked at start (issue 19, item 2): every variable the service reads parsed
and checked, a bad one named in one line in both languages with exit status 2 (``anxinma
serve``, gunicorn), and ``anxinma config check`` with its secrets masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anxinma.issuer.config import ConfigError, IssuerConfig, check_database, mask_url
from tests.conftest import free_port

#: (variable, bad value, words the message must hold besides the variable's name)
BAD = [
    ("ANXINMA_LIVE_RATE_LIMIT", "lots", "per minute"),
    ("ANXINMA_LIVE_RATE_LIMIT", "120 per fortnight", "per minute"),
    ("ANXINMA_STATUS_TTL", "-5", "from 1 to 86400"),
    ("ANXINMA_STATUS_TTL", "0", "from 1 to 86400"),
    ("ANXINMA_STATUS_TTL", "5m", "integer"),
    ("ANXINMA_CREDENTIAL_DAYS", "0", "from 1 to 3650"),
    ("ANXINMA_PROXIES", "-1", "from 0 to 10"),
    ("ANXINMA_DB_POOL_SIZE", "0", "from 1 to 100"),
    ("ANXINMA_DB_MAX_OVERFLOW", "many", "integer"),
    ("ANXINMA_DB_POOLER", "pgpool", "pgbouncer"),
    ("ANXINMA_JOB_LEASE", "0", "from 1 to 3600"),
    ("ANXINMA_DAILY_AT", "25:00", "HH:MM"),
    ("ANXINMA_DAILY_AT", "midnight", "HH:MM"),
    ("ANXINMA_TRUST_LIST_REFRESH", "soon", "integer"),
    ("ANXINMA_BASE_URL", "anxin.example.cn", "http"),
    ("ANXINMA_BASE_URL", "ftp://anxin.example.cn", "http"),
    ("ANXINMA_BASE_URL", "https://", "http"),
    ("ANXINMA_BASE_URL", "https://anxin.example.cn/?x=1", "query"),
    ("ANXINMA_BASE_URL", "https://anxin.example.cn:port", "http"),
    ("ANXINMA_TRUST_LIST_URL", "/nowhere/trust-list.jwt", "existing file"),
    ("ANXINMA_ROOT_KEY", "/nowhere/root.pem", "existing file"),
    ("DATABASE_URL", "mysql://u@h/db", "postgresql"),
    ("DATABASE_URL", "not a url", "sqlite"),
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("REDIS_URL", "redis://h:6379/zero", "redis://"),
    ("ANXINMA_LOG_FORMAT", "xml", "json"),
    ("PROMETHEUS_MULTIPROC_DIR", "/nowhere/metrics", "directory"),
]


@pytest.mark.parametrize(("name", "raw", "words"), BAD)
def test_a_bad_setting_is_refused_naming_the_variable_in_both_languages(
    tmp_path: Path, name: str, raw: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        IssuerConfig.from_env({"ANXINMA_HOME": str(tmp_path), name: raw})
    error = caught.value
    assert error.variable == name
    line = error.explain()
    assert "\n" not in line and line.count(name) == 2  # once in Chinese, once in English
    assert words in error.message and error.message_zh != error.message


def test_good_settings_pass_and_keep_their_values(tmp_path: Path) -> None:
    root = tmp_path / "root.pem"
    root.write_text("-----BEGIN PUBLIC KEY-----\n")
    config = IssuerConfig.from_env(
        {
            "ANXINMA_HOME": str(tmp_path),
            "ANXINMA_LIVE_RATE_LIMIT": "10/second; 300 per minute",
            "ANXINMA_STATUS_TTL": " 60 ",
            "ANXINMA_BASE_URL": "https://anxin.example.cn/",
            "ANXINMA_TRUST_LIST_URL": "https://trust.example.cn/list.jwt",
            "ANXINMA_ROOT_KEY": str(root),
            "DATABASE_URL": "postgresql+psycopg://anxinma:pw@db.internal:5432/anxinma",
            "REDIS_URL": "rediss://:pw@redis.internal:6380/2",
            "ANXINMA_LOG_FORMAT": "JSON",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    assert config.status_ttl == 60 and config.base_url == "https://anxin.example.cn"
    assert config.live_rate_limit == "10/second; 300 per minute"


def test_a_hand_built_config_is_checked_too() -> None:
    config = IssuerConfig(home=Path("/tmp"), database_url="sqlite://", status_ttl=-5)
    with pytest.raises(ConfigError, match="ANXINMA_STATUS_TTL"):
        config.validate()


def test_secrets_are_masked_in_the_effective_configuration(tmp_path: Path) -> None:
    assert (
        mask_url("postgresql+psycopg://anxinma:s3cret@db:5432/a")
        == "postgresql+psycopg://anxinma:***@db:5432/a"
    )
    assert mask_url("redis://:s3cret@r:6379/0") == "redis://:***@r:6379/0"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    config = IssuerConfig.from_env(
        {
            "ANXINMA_HOME": str(tmp_path),
            "ANXINMA_KEY_PASSPHRASE": "s3cret-pass",
            "DATABASE_URL": "postgresql+psycopg://anxinma:s3cret@db:5432/a",
            "REDIS_URL": "redis://:s3cret@r:6379/0",
        }
    )
    shown = "\n".join(f"{name} {value}" for name, value in config.effective())
    assert "s3cret" not in shown and "ANXINMA_KEY_PASSPHRASE *** (set)" in shown


def test_an_unreachable_database_is_refused_naming_database_url_without_its_password(tmp_path: Path) -> None:
    config = IssuerConfig(
        home=tmp_path, database_url=f"postgresql+psycopg://anxinma:s3cret@127.0.0.1:{free_port()}/anxinma"
    )
    with pytest.raises(ConfigError) as caught:
        check_database(config, timeout=2)
    assert caught.value.variable == "DATABASE_URL" and "s3cret" not in caught.value.explain()
    check_database(IssuerConfig(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'new' / 'a.sqlite3'}"))


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANXINMA_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    run = tmp_path / "run"  # gunicorn 27's control socket: not the ~/.gunicorn every test would share
    run.mkdir(mode=0o700, exist_ok=True)
    return env | {"ANXINMA_HOME": str(tmp_path / "home"), "XDG_RUNTIME_DIR": str(run)} | settings


def _one_error_line(stderr: str, name: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("错误 / error: ")]
    assert len(errors) == 1 and name in errors[0], stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize(("name", "raw"), [("ANXINMA_LIVE_RATE_LIMIT", "lots"), ("ANXINMA_STATUS_TTL", "-5")])
def test_anxinma_serve_with_a_bad_setting_exits_2_in_one_line(tmp_path: Path, name: str, raw: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "serve", "--port", str(free_port()), "--no-demo"],
        env=_env(tmp_path, **{name: raw}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert len([line for line in run.stderr.splitlines() if line.strip()]) == 1, run.stderr
    _one_error_line(run.stderr, name)
    assert not (tmp_path / "home").exists()  # refused before anything was made


@pytest.mark.slow
@pytest.mark.parametrize("with_config", [True, False])
def test_gunicorn_with_a_bad_setting_exits_non_zero_with_the_one_line(
    tmp_path: Path, with_config: bool
) -> None:
    """With anxinma/gunicorn_conf.py the master checks before forking (exit 2); without it each
    worker exits with gunicorn's "app failed to load" status, which stops the master."""
    config = ["-c", "python:anxinma.gunicorn_conf"] if with_config else []
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *config,
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{free_port()}",
            "anxinma.wsgi:app",
        ],
        env=_env(tmp_path, ANXINMA_STATUS_TTL="-5"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == (2 if with_config else 4)
    errors = [line for line in run.stderr.splitlines() if line.startswith("错误 / error: ")]
    assert errors and all(line == errors[0] for line in errors), run.stderr  # one line (once per worker)
    _one_error_line(errors[0], "ANXINMA_STATUS_TTL")
    assert "Traceback" not in run.stderr


def test_config_check_prints_the_configuration_masked_or_the_one_line(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "config", "check"],
        env=_env(
            tmp_path, ANXINMA_KEY_PASSPHRASE="s3cret-pass", REDIS_URL="redis://:s3cret@127.0.0.1:6379/0"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "s3cret" not in ok.stdout + ok.stderr
    assert "ANXINMA_STATUS_TTL" in ok.stdout and "REDIS_URL" in ok.stdout and "redis://:***@" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "anxinma.cli", "config", "check"],
        env=_env(tmp_path, DATABASE_URL=f"postgresql+psycopg://u:s3cret@127.0.0.1:{free_port()}/x"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "s3cret" not in bad.stderr
    _one_error_line(bad.stderr, "DATABASE_URL")
