"""The `pixelpress` command: serve, worker, migrate, users; and the client's user commands."""

from __future__ import annotations

import asyncio

import typer

from pixelpress import allocator
from pixelpress.client.cli import add_user_commands
from pixelpress.settings import Settings

app = typer.Typer(help="Pixelpress: a self-hosted image processing service.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
add_user_commands(app)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", envvar="HOST", help="Interface to listen on."),
    port: int = typer.Option(8000, envvar="PORT", help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Run the HTTP API (on the embedded default, it also runs the jobs)."""
    allocator.tune()
    import uvicorn

    from pixelpress.api.app import create_app
    from pixelpress.api.observability import configure_logging

    settings = Settings()
    configure_logging(log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, log_config=None)


@app.command()
def worker(
    concurrency: int = typer.Option(2, min=1, help="Jobs run at once (and messages prefetched)."),
    log_level: str = typer.Option("info", help="Log level."),
) -> None:
    """Consume the job queue (needs an AMQP or Kafka queue URL; the in-process queue runs in
    `serve`)."""
    allocator.tune()
    from pixelpress.worker import run_worker

    settings = Settings()
    if settings.queue_url.startswith("memory"):
        typer.echo(
            "error: the in-process queue (PIXELPRESS_QUEUE_URL=memory://) runs jobs inside "
            "`pixelpress serve`; set an amqp:// or kafka:// queue URL to run separate workers.",
            err=True,
        )
        raise typer.Exit(2)
    from pixelpress.api.observability import configure_logging

    configure_logging(log_level, settings.log_format)
    asyncio.run(run_worker(settings, concurrency=concurrency))


@app.command()
def migrate() -> None:
    """Apply database migrations (the server also does this at start)."""
    from pixelpress import bootstrap

    asyncio.run(bootstrap.migrate(Settings()))
    typer.echo("Database is up to date.")


@users_app.command("create-admin")
def create_admin(
    username: str = typer.Option(..., prompt=True),
    email: str = typer.Option(..., prompt=True),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user with the admin role."""
    from pixelpress.bootstrap import ProcessRole, build_services
    from pixelpress.domain.errors import DomainError
    from pixelpress.domain.models import Role
    from pixelpress.usecases.accounts import create_user

    async def run() -> str:
        async with build_services(Settings(), role=ProcessRole.CLI) as s:
            user = await create_user(
                username=username,
                email=email,
                password=password,
                role=Role.ADMIN,
                db=s.db,
                hasher=s.hasher,
                clock=s.clock,
            )
            return user.id

    try:
        user_id = asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Admin {username} created ({user_id}).")


def main() -> None:
    app()
