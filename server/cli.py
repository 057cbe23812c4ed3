"""The ``accord`` command."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from server.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accord",
        description="Accord: draft, review and ratify shared texts across borders, live.",
        epilog="Every option can also be set with its ACCORD_* environment variable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="start the server (HTTP and websockets)")
    serve.add_argument("--host", help="address to listen on (ACCORD_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (ACCORD_PORT, default 8000)")
    serve.add_argument("--db", help="SQLite database file (ACCORD_DB, default accord.db)")
    serve.set_defaults(handler=serve_command)

    settings = commands.add_parser("settings", help="list every setting with its default")
    settings.set_defaults(handler=settings_command)
    return parser


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from server import logs
    from server.app import create_app

    settings = Settings.from_env(host=args.host, port=args.port, db=args.db)
    logs.configure(settings.log_level)
    app = create_app(settings)
    # A sync server allocates many short-lived objects; fewer full collections keep the
    # latency tail short (see docs/performance.md).
    gc.set_threshold(50_000, 50, 100)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ping_interval_seconds,
        ws_ping_timeout=settings.ping_interval_seconds,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    print(f"Accord is running on http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.Server(config).run()
    return 0


def settings_command(args: argparse.Namespace) -> int:
    for variable, default, help_text in Settings.table():
        print(f"{variable} (default {default!r})\n    {help_text}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
