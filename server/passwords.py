"""Password hashing with argon2id (argon2-cffi's PasswordHasher and its RFC 9106 defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import BadRequest

MIN_LENGTH = 10
MAX_LENGTH = 1024
_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so that a wrong email
# costs the same time as a wrong password.
_DUMMY = _hasher.hash("accord-dummy-password")


def check_strength(password: object) -> str:
    if not isinstance(password, str):
        raise BadRequest("password must be a string")
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"password must be at most {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
