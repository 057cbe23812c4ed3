"""The ``accord orgs|users|tokens|demo`` commands: they work on the database file directly
(a running server sees the changes; revocations reach its open sockets within a second)."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from server import audit, documents, members, people, sessions
from server.connection import connect, migrate
from server.connection import transaction as db_transaction
from server.errors import AccordError
from server.settings import Settings

T = TypeVar("T")


@contextmanager
def database(args: argparse.Namespace) -> Iterator[sqlite3.Connection]:
    settings = Settings.from_env(db=getattr(args, "db", None))
    conn = connect(settings.db)
    try:
        migrate(conn)
        yield conn
    finally:
        conn.close()


def transaction(args: argparse.Namespace, job: Callable[[sqlite3.Connection], T]) -> T:
    with db_transaction(Settings.from_env(db=getattr(args, "db", None)).db) as conn:
        return job(conn)


def fail(message: str) -> int:
    print(f"accord: {message}", file=sys.stderr)
    return 1


def handles_errors(command: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except AccordError as error:
            return fail(error.message)

    return run


def ask_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password again: ")
    else:
        first = sys.stdin.readline().rstrip("\n")
        second = sys.stdin.readline().rstrip("\n")
    if first != second:
        raise AccordError("the two passwords differ")
    return first


def person(conn: sqlite3.Connection, email: str) -> people.User:
    user = people.user_by_email(conn, email.lower())
    if user is None:
        raise AccordError(f"no person with email {email}")
    return user


def link_url(secret: str) -> str:
    settings = Settings.from_env()
    return f"http://{settings.host}:{settings.port}/link/{secret}"


@handles_errors
def orgs_add(args: argparse.Namespace) -> int:
    def add(conn: sqlite3.Connection) -> None:
        org_id = people.add_organization(conn, args.short, args.name, args.country)
        details = {"organization": org_id, "short_name": args.short, "name": args.name}
        audit.append(conn, audit.CLI, "organization.add", None, details)

    transaction(args, add)
    print(f"added organization {args.short}")
    return 0


@handles_errors
def orgs_list(args: argparse.Namespace) -> int:
    with database(args) as conn:
        for org in people.organizations(conn):
            print(f"{org.short_name}\t{org.country}\t{org.name}")
    return 0


@handles_errors
def users_add(args: argparse.Namespace) -> int:
    password = None if args.invite else ask_password()

    def add(conn: sqlite3.Connection) -> str | None:
        org_id = people.organization_by_short(conn, args.org).id if args.org else None
        user_id = people.add_user(
            conn, args.email, args.name, org_id, password, args.admin, args.language
        )
        details = {
            "user": audit.person(conn, user_id),
            "organization": args.org,
            "admin": bool(args.admin),
            "via": "invitation link" if args.invite else "password",
        }
        audit.append(conn, audit.CLI, "user.add", None, details)
        if args.invite:
            secret, _ = sessions.create_link(conn, "invite", user_id=user_id)
            return secret
        return None

    secret = transaction(args, add)
    print(f"added {args.email}")
    if secret:
        print(f"one-time link to set a password (valid {sessions.LINK_DAYS} days):")
        print(link_url(secret))
    return 0


@handles_errors
def users_reset(args: argparse.Namespace) -> int:
    def reset(conn: sqlite3.Connection) -> str:
        user = person(conn, args.email)
        sessions.end_all_sessions(conn, user.id)
        secret, _ = sessions.create_link(conn, "password", user_id=user.id)
        audit.append(conn, audit.CLI, "user.reset", None, {"user": audit.person(conn, user.id)})
        return secret

    secret = transaction(args, reset)
    print(f"ended the sessions of {args.email}; one-time password reset link:")
    print(link_url(secret))
    return 0


@handles_errors
def users_remove(args: argparse.Namespace) -> int:
    def remove(conn: sqlite3.Connection) -> None:
        user = person(conn, args.email)
        sole = members.sole_chair_of(conn, user.id)
        if sole:
            titles = ", ".join(repr(title) for title in sole)
            raise AccordError(f"{args.email} is the only chair of {titles}: appoint another first")
        removed = audit.person(conn, user.id)
        audit.append(conn, audit.CLI, "user.remove", None, {"user": removed})
        for document_id, role in members.memberships_of(conn, user.id):
            details = {"member": removed, "previous_role": role, "via": "user.remove"}
            audit.append(conn, audit.CLI, "member.remove", document_id, details)
        sessions.end_all_sessions(conn, user.id)
        people.remove_user(conn, user.id)

    transaction(args, remove)
    print(f"removed {args.email}")
    return 0


@handles_errors
def users_list(args: argparse.Namespace) -> int:
    with database(args) as conn:
        for user in people.all_users(conn):
            org = user.organization.short_name if user.organization else "-"
            admin = " admin" if user.is_admin else ""
            print(f"{user.email}\t{org}\t{user.name}{admin}")
    return 0


@handles_errors
def tokens_create(args: argparse.Namespace) -> int:
    def create(conn: sqlite3.Connection) -> tuple[int, str]:
        user = person(conn, args.email)
        token_id, secret = sessions.create_token(conn, user.id, args.name)
        details = {"token": token_id, "name": args.name, "user": audit.person(conn, user.id)}
        audit.append(conn, audit.CLI, "token.create", None, details)
        return token_id, secret

    token_id, secret = transaction(args, create)
    print(f"token {token_id} for {args.email}; it is shown only this once:")
    print(secret)
    return 0


@handles_errors
def tokens_revoke(args: argparse.Namespace) -> int:
    def revoke(conn: sqlite3.Connection) -> bool:
        if not sessions.revoke_token(conn, args.token_id):
            return False
        audit.append(conn, audit.CLI, "token.revoke", None, {"token": args.token_id})
        return True

    if not transaction(args, revoke):
        return fail(f"no active token {args.token_id}")
    print(f"revoked token {args.token_id}")
    return 0


@handles_errors
def tokens_list(args: argparse.Namespace) -> int:
    with database(args) as conn:
        user = person(conn, args.email)
        for token_id, name, created, revoked in sessions.tokens_of(conn, user.id):
            state = f"revoked {revoked}" if revoked else "active"
            print(f"{token_id}\t{name}\t{created}\t{state}")
    return 0


@handles_errors
def demo(args: argparse.Namespace) -> int:
    from server.demo import load

    def load_demo(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
        logins = load(conn)
        details = {"people": [email for email, *_ in logins]}
        audit.append(conn, audit.CLI, "demo.load", None, details)
        return logins

    logins = transaction(args, load_demo)
    print("Demo federation loaded. Sign in at /login as any of these people:\n")
    for email, name, role, password in logins:
        print(f"  {role:<10} {name:<34} {email:<28} password: {password}")
    print("\nThe passwords are random and shown only now.")
    return 0


def random_password() -> str:
    return secrets.token_urlsafe(9)


__all__ = ["documents", "members"]
