"""``anxinma config check``: the effective configuration, checked as the service checks it at
start (every variable parsed, the database reached), secrets masked."""

from __future__ import annotations

import sys

import click

from anxinma.cli_support import EXIT_ERROR


@click.group("config")
def config() -> None:
    """The service's configuration (environment variables)."""


@config.command("check")
@click.option("--no-database", is_flag=True, help="Do not try to reach the database.")
def check(no_database: bool) -> None:
    """Print the effective configuration (secrets masked); exit 2 with one line naming a bad
    variable and what it accepts."""
    from anxinma.issuer.config import ConfigError, IssuerConfig, check_database

    try:
        effective = IssuerConfig.from_env()
        if not no_database:
            check_database(effective)
    except ConfigError as exc:
        click.echo(f"错误 / error: {exc.explain()}", err=True)
        sys.exit(EXIT_ERROR)
    width = max(len(name) for name, _ in effective.effective())
    for name, value in effective.effective():
        click.echo(f"{name:<{width}}  {value}")
    reached = "not checked (--no-database)" if no_database else "answers"
    click.echo(f"配置有效 / configuration valid; database {reached}")
