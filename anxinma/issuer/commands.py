"""The issuer's commands: ``serve`` (built by the composition root), ``token``, ``user``,
``audit verify`` and ``jobs daily``. Each is a thin call into the service."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask

from anxinma.cli_support import friendly
from anxinma.issuer.config import IssuerConfig
from anxinma.issuer.services.auth import Role


def _runtime() -> Any:
    from anxinma.issuer.app import build_runtime

    return build_runtime(IssuerConfig.from_env(background=False))


def make_serve_command(compose: Callable[[IssuerConfig], Flask]) -> click.Command:
    """``anxinma serve``; ``compose`` (from the composition root) adds other parts' blueprints."""

    @click.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=click.IntRange(1, 65535), default=8600, show_default=True)
    @click.option("--no-demo", is_flag=True, help="Do not create demo data on an empty database.")
    @friendly
    def serve(host: str, port: int, no_demo: bool) -> None:
        """Run the issuer service (development server; production: gunicorn, docs/operations.md)."""
        import os

        from anxinma.issuer import demo

        overrides: dict[str, Any] = {"dev_bootstrap": True}
        if not os.environ.get("ANXINMA_BASE_URL"):
            # A fresh home gets keys made for this port; an existing one keeps its base URL and
            # the start says so when the two differ (the identity changes only on purpose).
            shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            overrides["base_url"] = f"http://{shown}:{port}"
            overrides["base_url_given"] = True
            overrides["extra"] = {"base_url_from": f"serve --port {port}"}
        config = IssuerConfig.from_env(**overrides)
        app = compose(config)
        runtime = app.extensions["anxinma"]
        config = runtime.config  # the keyring's base URL (a mismatch was logged: one line, runtime.notices)
        if not no_demo:
            made = demo.seed(runtime)
            if made:
                click.echo("已生成演示数据 / demo data created: 4 enterprises, 300 workers")
        click.echo(f"安心码签发服务 / Anxinma issuer: {config.base_url}")
        click.echo(
            f"  home {config.home}  database {runtime.store.dialect}  redis {'yes' if config.redis_url else 'no (in-process)'}"
        )
        if runtime.keys.encrypted is False:
            click.echo("  警告 / warning: development keys (unencrypted) — not for production")
        logins = demo.logins(config.home)
        if logins:
            click.echo(f"演示登录 / demo logins — 控制台 / consoles {config.base_url}/console/ :")
            for role in Role:
                entry = logins.get(role.value)
                if entry:
                    click.echo(f"  {role.value:<17} {entry['username']} / {entry['password']}")
            click.echo(f"  API token (issuer_admin): {logins.get('api_token')}")
        click.echo(
            f"  discovery {config.base_url}/.well-known/anxinma   API {config.base_url}/api/v1/openapi.json"
        )
        sample = demo.sample_code(runtime)
        if sample:
            click.echo(f"  演示安心码 / a demo credential: {sample}")
        app.run(host=host, port=port, threaded=True, use_reloader=False)

    return serve


@click.group("token")
def token() -> None:
    """API tokens (stored hashed; shown once)."""


@token.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--enterprise",
    "enterprise_id",
    type=int,
    default=None,
    help="Enterprise ID (enterprise_admin; optional for card_operator).",
)
@click.option("--label", default=None)
@click.option(
    "--district", default=None, help="Regulator only: the district (6-digit division code, e.g. 330203)."
)
@friendly
def token_create(role: str, enterprise_id: int | None, label: str | None, district: str | None) -> None:
    """Print a new API token for Authorization: Bearer <token>."""
    runtime = _runtime()
    token_id, secret = runtime.service.accounts.create_token(
        Role(role), enterprise_id, label, district=district
    )
    click.echo(
        f"token {token_id} ({role}{'' if enterprise_id is None else f', enterprise {enterprise_id}'}"
        f"{'' if district is None else f', district {district}'})",
        err=True,
    )
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id", type=int)
@friendly
def token_revoke(token_id: int) -> None:
    from anxinma.issuer.services.auth import SYSTEM

    _runtime().service.accounts.revoke_token(SYSTEM, token_id)
    click.echo(f"token {token_id} revoked")


@click.group("user")
def user() -> None:
    """Console accounts (username + password) for the web consoles."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--enterprise", "enterprise_id", type=int, default=None)
@click.option(
    "--district", default=None, help="Regulator only: the district (6-digit division code, e.g. 330203)."
)
@click.password_option()
@friendly
def user_create(
    username: str, role: str, enterprise_id: int | None, district: str | None, password: str
) -> None:
    user_id = _runtime().service.accounts.create_user(
        username, password, Role(role), enterprise_id, district=district
    )
    click.echo(f"user {user_id} {username} ({role}{'' if district is None else f', district {district}'})")


@user.command("password")
@click.argument("username")
@click.password_option()
@friendly
def user_password(username: str, password: str) -> None:
    """Set USERNAME's password; every session of the user ends at once, on every host."""
    accounts = _runtime().service.accounts
    accounts.set_password(None, accounts.user_id(username), password)
    click.echo(f"密码已更新，该用户的所有会话已结束 / password set; every session of {username} ended")


@user.command("unlock")
@click.argument("username")
@friendly
def user_unlock(username: str) -> None:
    """Lift USERNAME's sign-in lock (10 wrong passwords in 5 minutes) before it runs out. It
    reaches the service's count only through Redis (REDIS_URL); without it, each process
    counts in its own memory and the lock simply lasts its 5 minutes."""
    _runtime().service.accounts.unlock(username)
    click.echo(f"已解除登录锁定 / sign-in lock lifted: {username}")


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option(
    "--checkpoints",
    "checkpoint_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of checkpoints kept elsewhere (one per line), besides $ANXINMA_HOME/audit/checkpoints; repeatable.",
)
@friendly
def audit_verify(checkpoint_files: tuple[Path, ...]) -> None:
    """Walk the whole chain and check it against every signed checkpoint; exit 0 only if no
    entry was removed or altered and the chain meets every checkpoint."""
    report = _runtime().service.audit_verify(checkpoint_files)
    if report.ok:
        click.echo(f"审计日志完整 / audit log intact: {report.checked} entries")
        if report.anchors:
            click.echo(
                f"  {report.anchors} 个签名检查点相符，最新一个记到第 {report.anchored} 条 / {report.anchors}"
                f" signed checkpoint(s) met, the newest at entry {report.anchored}"
                f" ({report.checked - report.anchored} later entries not yet anchored)"
            )
        else:
            click.echo(
                "  警告：没有签名检查点，无法发现末尾被删除的记录 / warning: no signed checkpoint, so a cut"
                " tail or an older copy of the database cannot be detected (docs/operations.md)",
                err=True,
            )
        return
    click.echo(f"审计日志被篡改 / audit log BROKEN ({report.checked} entries checked):", err=True)
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    sys.exit(1)


@click.group("jobs")
def jobs() -> None:
    """Jobs for cron."""


@jobs.command("daily")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Run as of this day (default today, UTC+8).",
)
@friendly
def jobs_daily(day: Any) -> None:
    """Set attention (安心码 yellow) for lapsed health certificates and insurance; clear it when
    renewed; keep the day's 持证率/亮证率 figures of every enterprise (the dashboard's history)."""
    from anxinma.issuer.services.daily import KIND
    from anxinma.issuer.services.rules import today_in_china

    service = _runtime().service
    on = day.date() if day is not None else today_in_china()
    # The day's job on the durable queue, run here: killed, it is resumed by a service host.
    with service.store.write() as session:
        service.jobs.submit(session, KIND, on.isoformat())
    state = service.jobs.run_here(KIND, on.isoformat())
    counts = service.daily.last
    if state != "done":
        click.echo(
            f"{on}: 每日任务失败，详见服务日志 / the daily job failed: see the service's log", err=True
        )
        sys.exit(1)
    if not counts:
        click.echo(f"{on}: 已由另一台主机完成 / done by another host")
        return
    click.echo(f"attention set {counts['attention_set']}, cleared {counts['attention_cleared']}")
    click.echo(f"持证率/亮证率 figures of {on} kept for {counts['enterprises']} enterprise(s)")
