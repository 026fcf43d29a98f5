"""Password rules: long enough, not a well-known password, not the email."""

from __future__ import annotations

MIN_LENGTH = 10

# The most common passwords that meet the length rule (from public breach lists).
_COMMON = {
    "1234567890",
    "12345678910",
    "0123456789",
    "password123",
    "password12",
    "password1!",
    "qwertyuiop",
    "1q2w3e4r5t",
    "qwerty1234",
    "iloveyou12",
    "abcdefghij",
    "passw0rd12",
    "letmein123",
    "welcome123",
    "administrator",
    "qwertyuiop1",
    "1qaz2wsx3edc",
    "football12",
    "baseball12",
    "superman12",
    "trustno1234",
    "monkey1234",
    "dragon1234",
    "sunshine12",
    "princess12",
    "changeme123",
    "aaaaaaaaaa",
    "zaq12wsxcde",
    "asdfghjkl1",
    "demo-password",
}


def password_problem(password: str, email: str = "") -> str | None:
    """Why this password is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 200:
        return "Use at most 200 characters."
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "That password is too easy to guess; add a few unrelated words."
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Don't use your email address in your password."
    return None
