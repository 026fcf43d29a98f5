"""Password rules, and passwords only ever stored as hashes."""

from __future__ import annotations

import pytest
from flask import Flask

from support.auth import accounts
from support.auth.passwords import MIN_LENGTH, password_problem
from support.extensions import db


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "a-long-test-password", "Tr0ub4dor&3-extended", "ünïcödé pässwörd"],
)
def test_good_passwords_pass(password: str) -> None:
    assert password_problem(password, "casey@example.com") is None


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", f"at least {MIN_LENGTH}"),
        ("x" * (MIN_LENGTH - 1), f"at least {MIN_LENGTH}"),
        ("y" * 201, "at most 200"),
        ("password123", "too easy"),
        ("PASSWORD123", "too easy"),
        ("demo-password", "too easy"),
        ("abababababab", "too easy"),
        ("casey-secret-words", "email address"),
    ],
)
def test_weak_passwords_are_explained(password: str, problem: str) -> None:
    assert problem in (password_problem(password, "Casey@example.com") or "")


def test_short_email_local_part_does_not_forbid_passwords() -> None:
    assert password_problem("abc and more words", "abc@example.com") is None


def test_exactly_min_length_is_enough() -> None:
    assert password_problem("qwxz" + "e" * (MIN_LENGTH - 4)) is None


def test_password_is_stored_hashed(app: Flask) -> None:
    user = accounts.create_user(email="h@example.com", name="H", password="a-long-test-password")
    assert "a-long-test-password" not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert user.check_password("a-long-test-password")
    assert not user.check_password("a-long-test-passwor")


def test_same_password_gets_different_hashes(app: Flask) -> None:
    one = accounts.create_user(email="one@example.com", name="One", password="same long secret")
    two = accounts.create_user(email="two@example.com", name="Two", password="same long secret")
    assert one.password_hash != two.password_hash


def test_authenticate_checks_the_password(app: Flask) -> None:
    accounts.create_user(email="Auth@Example.com", name="A", password="a-long-test-password")
    assert accounts.authenticate("auth@example.com", "a-long-test-password") is not None
    assert accounts.authenticate(" AUTH@example.COM ", "a-long-test-password") is not None
    assert accounts.authenticate("auth@example.com", "wrong password here") is None
    assert accounts.authenticate("nobody@example.com", "a-long-test-password") is None


def test_inactive_accounts_cannot_authenticate(app: Flask) -> None:
    user = accounts.create_user(email="off@example.com", name="Off", password="a-long-test-pw")
    user.is_active = False
    db.session.commit()
    assert accounts.authenticate("off@example.com", "a-long-test-pw") is None


def test_duplicate_email_is_refused_whatever_the_case(app: Flask) -> None:
    accounts.create_user(email="dup@example.com", name="D", password="a-long-test-password")
    with pytest.raises(accounts.EmailTaken):
        accounts.create_user(email="DUP@example.com ", name="D", password="a-long-test-password")
