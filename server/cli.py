"""The ``accord`` command."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import gc
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from server import people_cli
from server.errors import AccordError
from server.settings import Settings

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette


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

    orgs = commands.add_parser("orgs", help="organizations (the federation's affiliates)")
    orgs_commands = orgs.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = orgs_commands.add_parser("add", help="add an organization")
    add.add_argument("short", help="short name, e.g. CMX")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--country", required=True, help="two-letter country code, e.g. MX")
    add.set_defaults(handler=people_cli.orgs_add)
    listing = orgs_commands.add_parser("list", help="list organizations")
    listing.set_defaults(handler=people_cli.orgs_list)

    users = commands.add_parser("users", help="people who use Accord")
    users_commands = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = users_commands.add_parser(
        "add", help="add a person; asks for the password twice (read from stdin if piped)"
    )
    add.add_argument("email")
    add.add_argument("--name", required=True, help="the name others see")
    add.add_argument("--org", help="short name of their organization")
    add.add_argument("--admin", action="store_true", help="may run the server's accounts")
    add.add_argument("--language", choices=["es", "en"], default="es", help="interface language")
    add.add_argument(
        "--invite", action="store_true", help="print a one-time link to set a password instead"
    )
    add.set_defaults(handler=people_cli.users_add)
    reset = users_commands.add_parser(
        "reset", help="end a person's sessions and print a one-time password reset link"
    )
    reset.add_argument("email")
    reset.set_defaults(handler=people_cli.users_reset)
    remove = users_commands.add_parser("remove", help="remove a person and end their sessions")
    remove.add_argument("email")
    remove.set_defaults(handler=people_cli.users_remove)
    listing = users_commands.add_parser("list", help="list people")
    listing.set_defaults(handler=people_cli.users_list)

    tokens = commands.add_parser("tokens", help="API tokens for scripts and bots")
    tokens_commands = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = tokens_commands.add_parser(
        "create", help="create a token; it is shown once, alone on the last line"
    )
    create.add_argument("email")
    create.add_argument("--name", default="script", help="what the token is for")
    create.set_defaults(handler=people_cli.tokens_create)
    revoke = tokens_commands.add_parser("revoke", help="revoke a token by its number")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=people_cli.tokens_revoke)
    listing = tokens_commands.add_parser("list", help="list a person's tokens")
    listing.add_argument("email")
    listing.set_defaults(handler=people_cli.tokens_list)

    demo = commands.add_parser("demo", help="load a small demo federation, with a draft")
    demo.set_defaults(handler=people_cli.demo)

    backup = commands.add_parser(
        "backup", help="copy the live database consistently (SQLite online backup) and check it"
    )
    backup.add_argument("path", help="the new backup file")
    backup.set_defaults(handler=backup_command)
    restore = commands.add_parser(
        "restore", help="bring a checked backup back as the database (stop the server first)"
    )
    restore.add_argument("path", help="the backup file")
    restore.set_defaults(handler=restore_command)

    verify_file = commands.add_parser(
        "verify",
        help="say whether a file (Markdown, or an HTML or PDF export) is a ratified text",
    )
    verify_file.add_argument("path", help="the file to check")
    verify_file.set_defaults(handler=verify_command)

    audit_log = commands.add_parser("audit", help="the audit log: who changed what, and when")
    audit_commands = audit_log.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify", help="check the hash chain; name the first bad entry and exit 1 if broken"
    )
    verify.add_argument(
        "--head", metavar="HASH", help="a head hash printed earlier: fail unless still in the log"
    )
    verify.set_defaults(handler=audit_verify_command)
    show = audit_commands.add_parser("show", help="print entries, newest first")
    show.add_argument("--document", metavar="ID", help="only this document's entries")
    show.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N entries (default 50)"
    )
    show.set_defaults(handler=audit_show_command)

    for sub in (
        settings,
        *orgs_commands.choices.values(),
        *users_commands.choices.values(),
        *tokens_commands.choices.values(),
        demo,
        backup,
        restore,
        verify_file,
        *audit_commands.choices.values(),
    ):
        sub.add_argument("--db", help="SQLite database file (ACCORD_DB, default accord.db)")
    return parser


def serve_command(args: argparse.Namespace) -> int:
    from server import logs
    from server.app import create_app

    settings = Settings.from_env(host=args.host, port=args.port, db=args.db)
    logs.configure(settings.log_level)
    # A fatal signal prints every thread's Python stack to stderr (the journal): SIGABRT from
    # systemd's watchdog names what kept the event loop stuck (`server.notify`).
    faulthandler.enable()
    app = create_app(settings)
    # A sync server allocates many short-lived objects; fewer full collections keep the
    # latency tail short (see docs/performance.md).
    gc.set_threshold(50_000, 50, 100)
    # What exists now (modules, the app) lives as long as the process: a full collection
    # need not walk it again each time (it paused the loop for 30-80 ms under load).
    gc.collect()
    gc.freeze()
    config = uvicorn_config(app, settings)
    print(f"Accord is running on http://{settings.host}:{settings.port}/", flush=True)
    server = draining_server(config, app)
    # After its graceful shutdown uvicorn raises the stopping signal again under the handler
    # it found, which by default ends the process "killed by SIGTERM". A clean stop exits 0;
    # a signal that arrives before uvicorn installs its own handlers still stops it.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: setattr(server, "should_exit", True))
    server.run()
    return 0


def uvicorn_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """How `accord serve` runs ``app`` under uvicorn (the tests that need a real uvicorn in
    their own process use it too)."""
    import uvicorn

    from server.ws_protocol import HttpProtocol, SyncProtocol

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=HttpProtocol,  # httptools, letting go of the parser once a sync connection starts
        ws=SyncProtocol,  # websockets-sansio with a synchronous send for the sync endpoint
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ping_interval_seconds,
        ws_ping_timeout=settings.ping_interval_seconds,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def draining_server(config: uvicorn.Config, app: Starlette) -> uvicorn.Server:
    """uvicorn's server, with one step first in its shutdown: the rooms' last sync and
    clean 1012 closes (`Rooms.close`), instead of sockets cut with edits still on the wire.
    It also tells systemd when it is ready and stopping, and pings its watchdog from the
    event loop while it runs (`server.notify`)."""
    import uvicorn

    from server import notify

    class Server(uvicorn.Server):
        pinging: asyncio.Task[None] | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            notify.notify("READY=1")
            interval = notify.watchdog_interval()
            if interval is not None:
                self.pinging = asyncio.create_task(notify.keep_alive(interval))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            notify.notify("STOPPING=1")
            try:
                await self.drain(sockets)
            finally:
                if self.pinging is not None:  # pinged until the last commit is written
                    self.pinging.cancel()

        async def drain(self, sockets: list[socket.socket] | None) -> None:
            for listener in self.servers:
                listener.close()  # no new connections while the rooms drain
            rooms = getattr(app.state, "rooms", None)
            if rooms is not None:
                await rooms.close()
                deadline = time.monotonic() + 2  # the clients' answers to the close frames
                while self.server_state.connections and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            await super().shutdown(sockets)

    return Server(config)


def backup_command(args: argparse.Namespace) -> int:
    from server.backup import backup

    settings = Settings.from_env(db=args.db)
    try:
        size = backup(settings.db, args.path)
    except AccordError as error:
        print(f"accord: {error.message}", file=sys.stderr)
        return 1
    print(f"backed up {settings.db} to {args.path} ({size} bytes, integrity ok)")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    """Exit 0 if the file is a ratified text (or one of its exports), 1 if not."""
    from server import api_verify, ratifications

    try:
        data = Path(args.path).read_bytes()
    except OSError as exc:
        return people_cli.fail(f"cannot read {args.path}: {exc.strerror}")
    with people_cli.database(args) as conn:
        known = ratifications.by_hash(conn)
    answer = api_verify.check(data, known)
    match = answer["match"]
    if match is None:
        print(f"NO MATCH: no ratified text has this content (sha256 {answer['sha256']})")
        return 1
    how = {
        "exact": "byte for byte",
        "normalized": "after normalizing line endings or the final newline",
        "export": "an export made by Accord, rebuilt and compared byte for byte",
        "embedded": "the file only names the hash; its content was not compared",
    }[match["how"]]
    print(f"MATCH: {match['title']} (ratified {match['date']} by {match['body']})")
    print(f"  sha256 {match['sha256']}; {how}")
    print(f"  document {match['document_id']}")
    return 0


def restore_command(args: argparse.Namespace) -> int:
    from server.backup import restore

    settings = Settings.from_env(db=args.db)
    try:
        restore(args.path, settings.db)
    except AccordError as error:
        print(f"accord: {error.message}", file=sys.stderr)
        return 1
    print(f"restored {settings.db} from {args.path}")
    return 0


def audit_verify_command(args: argparse.Namespace) -> int:
    from server import audit

    if not Path(Settings.from_env(db=args.db).db).exists():
        return people_cli.fail("no database file there (check --db or ACCORD_DB)")
    with people_cli.database(args) as conn:
        verdict = audit.verify(conn, args.head)
    if not verdict.ok:
        return people_cli.fail(verdict.message())
    print(verdict.message())
    return 0


def audit_show_command(args: argparse.Namespace) -> int:
    from server import audit

    if args.limit < 1:
        return people_cli.fail("--limit must be at least 1")
    if not Path(Settings.from_env(db=args.db).db).exists():
        return people_cli.fail("no database file there (check --db or ACCORD_DB)")
    with people_cli.database(args) as conn:
        found = audit.entries(conn, args.document, args.limit)
    for entry in found:
        fields = (entry.time, entry.actor_label(), entry.action, entry.document_id or "-")
        print(entry.seq, *fields, entry.details, sep="\t")
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
