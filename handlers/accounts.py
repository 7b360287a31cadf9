"""Accounts: register, exchange credentials for a token, who am I, sign out everywhere, change the
password, delete the account.

Password hashing runs in its own bounded pool with no database connection or lock held: each
operation that hashes takes a hashing slot first (503 at once when none is free), then does its
short database work, hashes, and finishes in a second short transaction. The password-strength
estimate runs inside the slot too: it is CPU work of the same kind (21 ms for a 28-character
password, 160 ms for 72), and run before the slot it made every refused registration cost that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connexion import request
from starlette.responses import Response

from handlers.context import HandlerResult, authenticated_owner, database, json_result, no_content, services
from models.errors import InvalidCredentials, NoPasswordHere, WrongCurrentPassword
from models.input import parse_input
from models.timestamps import utc_now
from models.user import BUILT_IN_ISSUER, Credentials, PasswordChange, User, UserPublic, UserRegistration
from models.user_password import check_password
from models.user_repository import ONE_SECOND
from tasks_api.auth import TokenIssuer
from tasks_api.client_address import address_key
from tasks_api.password_hashing import PasswordHashing

NO_STORE = {"Cache-Control": "no-store"}


def _public(user: User) -> dict[str, Any]:
    return UserPublic.model_validate(user, update={"id": user.subject}).model_dump(mode="json")


def _hashing() -> PasswordHashing:
    return services().password_hashing


def _issuer() -> TokenIssuer:
    return services().token_issuer


def _client_address() -> str:
    return address_key(request.client.host if request.client else None)


def register_user(body: dict[str, Any]) -> HandlerResult:
    registration = parse_input(UserRegistration, body)
    hashing = _hashing()
    with hashing.reserved():
        check_password(registration.password, email=registration.email, name=registration.name)
        with database().unit_of_work() as uow:
            uow.registrations.admit(_client_address(), utc_now())
            uow.commit()
        password_hash = hashing.hash(registration.password)
    with database().unit_of_work() as uow:
        user = uow.users.register(registration, password_hash)
        uow.commit()
    return json_result(_public(user), 201, {"Location": "/api/users/me"})


def _verified_account(email: str, password: str) -> tuple[str, datetime | None]:
    """The subject of the built-in account whose password this is, and the instant its new tokens
    must be issued after, within the sign-in limits (a failure stays counted); or
    InvalidCredentials / TooManySignInFailures / PasswordHashingBusy."""
    hashing = _hashing()
    with hashing.reserved():
        with database().unit_of_work() as uow:
            attempt = uow.sign_in.begin(email, _client_address(), utc_now())
            uow.commit()
        matches = hashing.verify(attempt.password_hash, password)
        rehashed = (
            hashing.hash(password)
            if matches and attempt.password_hash and hashing.needs_rehash(attempt.password_hash)
            else None
        )
    if not matches:
        raise InvalidCredentials
    with database().unit_of_work() as uow:
        user = uow.sign_in.succeeded(attempt, rehashed)
        if user is None:  # deleted while the password was being checked
            raise InvalidCredentials
        revoked_until = user.tokens_valid_after
        subject = user.subject
        uow.commit()
    return subject, revoked_until + ONE_SECOND if revoked_until else None


def create_token(body: dict[str, Any]) -> HandlerResult:
    credentials = parse_input(Credentials, body)
    subject, valid_after = _verified_account(credentials.email, credentials.password)
    return json_result(_issuer().issue(subject, valid_after=valid_after), headers=NO_STORE)


def get_current_user() -> HandlerResult:
    with database().unit_of_work(read_only=True) as uow:
        user = _public(uow.users.get(authenticated_owner()))
    return json_result(user, headers=NO_STORE)


def sign_out_everywhere() -> Response:
    with database().unit_of_work() as uow:
        uow.users.revoke_tokens(authenticated_owner(), utc_now())
        uow.commit()
    return no_content()


def change_password(body: dict[str, Any]) -> HandlerResult:
    change = parse_input(PasswordChange, body)
    owner = authenticated_owner()
    with database().unit_of_work() as uow:
        user = uow.users.get(owner)
        issuer, email, name = user.issuer, user.email, user.name
    if issuer != BUILT_IN_ISSUER or email is None:
        raise NoPasswordHere
    hashing = _hashing()
    with hashing.reserved():
        check_password(change.new_password, email=email, name=name, pointer="/new_password")
    try:
        # The same limits as signing in: a stolen token cannot be used to guess the password.
        _verified_account(email, change.current_password)
    except InvalidCredentials:
        raise WrongCurrentPassword from None
    with hashing.reserved():
        new_hash = hashing.hash(change.new_password)
    with database().unit_of_work() as uow:
        uow.users.lock(owner)
        user = uow.users.get(owner)
        user.password_hash = new_hash
        valid_after = uow.users.revoke_tokens(owner, utc_now())
        uow.commit()
    return json_result(_issuer().issue(owner.public_id, valid_after=valid_after), headers=NO_STORE)


def delete_current_user() -> Response:
    with database().unit_of_work() as uow:
        uow.users.lock(authenticated_owner())
        uow.users.delete(authenticated_owner(), utc_now())
        uow.commit()
    return no_content()
