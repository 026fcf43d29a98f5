"""Register, log in, log out: the account pages."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from support.extensions import db
from support.models import Role, User
from tests.conftest import Auth
from tests.factories import PASSWORD, Factory

HTMX = {"HX-Request": "true"}


def registration(**fields: str) -> dict[str, str]:
    data = {
        "name": "Casey Customer",
        "email": "casey@example.com",
        "password": "plenty of unrelated words",
        "confirm": "plenty of unrelated words",
    }
    data.update(fields)
    return data


def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/tickets/").status_code == 200


# --- register ----------------------------------------------------------------------------


def test_register_page_renders(client: FlaskClient) -> None:
    response = client.get("/register")
    assert response.status_code == 200
    assert 'id="register-form"' in response.text


def test_register_creates_an_unconfirmed_customer_who_can_log_in(client: FlaskClient) -> None:
    response = client.post("/register", data=registration())
    assert response.status_code == 303
    assert response.location == "/register?sent=1"
    assert "Check your email" in client.get(response.location).text
    user = db.session.scalar(select(User).where(User.email == "casey@example.com"))
    assert user.role == Role.CUSTOMER
    assert user.email_verified_at is None
    # Signed in by the link in the email (tests/web/test_account.py) or by logging in.
    assert not is_logged_in(client)
    assert (
        client.post(
            "/login", data={"email": user.email, "password": "plenty of unrelated words"}
        ).status_code
        == 303
    )
    assert is_logged_in(client)


def test_register_stores_email_lowercased(client: FlaskClient) -> None:
    client.post("/register", data=registration(email="  Casey@Example.COM "))
    assert db.session.scalar(select(User.email)) == "casey@example.com"


def test_register_stores_password_hashed(client: FlaskClient) -> None:
    client.post("/register", data=registration())
    stored = db.session.scalar(select(User.password_hash))
    assert "plenty of unrelated words" not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use at least 10 characters."),
        ({"password": "password123", "confirm": "password123"}, "too easy to guess"),
        ({"confirm": "something else entirely"}, "The two passwords don"),
        ({"email": "not-an-email"}, "Enter an email address like name@example.com."),
        ({"email": ""}, "Enter your email address."),
        ({"name": "   "}, "Tell us what to call you."),
    ],
)
def test_register_field_errors(client: FlaskClient, fields: dict, message: str) -> None:
    response = client.post("/register", data=registration(**fields))
    assert response.status_code == 422
    assert message in response.text
    assert 'class="field-error"' in response.text
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_register_with_taken_email_answers_like_a_new_one(
    client: FlaskClient, make: Factory
) -> None:
    make.customer(email="casey@example.com")
    taken = client.post("/register", data=registration(email="CASEY@example.com"))
    new = client.post("/register", data=registration(email="robin@example.com"))
    assert taken.status_code == new.status_code == 303
    assert taken.location == new.location == "/register?sent=1"
    assert taken.get_data() == new.get_data()
    assert db.session.scalar(select(func.count(User.id))) == 2


def test_register_error_keeps_what_was_typed_except_passwords(client: FlaskClient) -> None:
    response = client.post("/register", data=registration(confirm="different words here"))
    assert 'value="Casey Customer"' in response.text
    assert 'value="casey@example.com"' in response.text
    assert "plenty of unrelated words" not in response.text


def test_register_htmx_error_returns_only_the_form(client: FlaskClient) -> None:
    response = client.post("/register", data=registration(email="bad"), headers=HTMX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="register-form"')
    assert "<html" not in response.text


def test_register_htmx_success_redirects_with_header(client: FlaskClient) -> None:
    response = client.post("/register", data=registration(), headers=HTMX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/register?sent=1"


def test_register_when_logged_in_goes_home(client: FlaskClient, auth: Auth, make: Factory) -> None:
    auth.login(make.customer())
    response = client.get("/register")
    assert response.status_code == 303
    assert response.location == "/tickets/"


# --- log in ------------------------------------------------------------------------------


def test_login_page_renders(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert 'id="login-form"' in response.text


def test_login_succeeds(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert response.location == "/tickets/"
    assert is_logged_in(client)


def test_login_email_is_case_insensitive(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 303


@pytest.mark.parametrize("which", ["password", "email"])
def test_login_with_wrong_credentials(client: FlaskClient, make: Factory, which: str) -> None:
    user = make.customer()
    data = {"email": user.email, "password": PASSWORD}
    data[which] = "wrong" + data[which]
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert "That email and password don" in response.text
    assert not is_logged_in(client)


def test_login_wrong_password_and_unknown_email_look_the_same(
    client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    wrong_password = client.post("/login", data={"email": user.email, "password": "nope nope"})
    unknown = client.post("/login", data={"email": "ghost@example.com", "password": "nope nope"})
    # The CSRF token carries the second it was made: two requests may straddle a second.
    same = [
        re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", page.text.replace(email, "X"))
        for page, email in ((wrong_password, user.email), (unknown, "ghost@example.com"))
    ]
    assert same[0] == same[1]


def test_login_inactive_account_is_refused(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    user.is_active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 422


def test_login_missing_fields(client: FlaskClient) -> None:
    response = client.post("/login", data={})
    assert response.status_code == 422
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text


def test_login_htmx_error_returns_only_the_form(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x@example.com", "password": "y"}, headers=HTMX)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="login-form"')


def test_login_without_remember_sets_no_remember_cookie(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert client.get_cookie("remember_token") is None


def test_login_with_remember_me_sets_remember_cookie(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.expires is not None


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/tickets/new", "/tickets/new"),
        ("/tickets/?page=2", "/tickets/?page=2"),
        ("//evil.com", "/tickets/"),
        ("//evil.com/tickets/", "/tickets/"),
        ("https://evil.com", "/tickets/"),
        ("https://evil.com/tickets/", "/tickets/"),
        ("http:evil.com", "/tickets/"),
        ("javascript:alert(1)", "/tickets/"),
        ("/\\evil.com", "/tickets/"),
        ("/\t/evil.com", "/tickets/"),
        ("\\\\evil.com", "/tickets/"),
        ("tickets/new", "/tickets/"),
        ("", "/tickets/"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_login_next_only_follows_same_site_paths(
    client: FlaskClient, make: Factory, next_url: str, expected: str, htmx: bool
) -> None:
    user = make.customer()
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": user.email, "password": PASSWORD},
        headers=HTMX if htmx else {},
    )
    target = response.headers["HX-Redirect"] if htmx else response.location
    assert target == expected


def test_login_form_keeps_next_in_its_action(client: FlaskClient) -> None:
    response = client.get("/login?next=/tickets/new")
    assert 'action="/login?next=/tickets/new"' in response.text


def test_protected_page_sends_to_login_with_next(client: FlaskClient) -> None:
    response = client.get("/tickets/new")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert "tickets" in response.location


# --- log out -----------------------------------------------------------------------------


def test_logout_get_asks_for_confirmation(client: FlaskClient, auth: Auth, make: Factory) -> None:
    auth.login(make.customer())
    response = client.get("/logout")
    assert response.status_code == 200
    assert "Log out?" in response.text
    assert 'method="post" action="/logout"' in response.text
    assert is_logged_in(client)


def test_logout_post_logs_out(client: FlaskClient, auth: Auth, make: Factory) -> None:
    auth.login(make.customer())
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.location == "/"
    assert not is_logged_in(client)


def test_logout_clears_remember_cookie(client: FlaskClient, make: Factory) -> None:
    user = make.customer()
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    client.post("/logout")
    assert client.get_cookie("remember_token") is None


def test_logout_when_anonymous_goes_to_login(client: FlaskClient) -> None:
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_nav_shows_logout_form_when_logged_in(
    client: FlaskClient, auth: Auth, make: Factory
) -> None:
    auth.login(make.customer(name="Casey Customer"))
    page = client.get("/").text
    assert 'action="/logout" method="post"' in page
    assert "Casey" in page


# --- cookies end with the session ---------------------------------------------------------


def _copy_cookies(client: FlaskClient) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")}


def _client_with(app, cookies: dict[str, str]) -> FlaskClient:
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def test_logout_ends_copies_of_the_session_and_remember_cookies(
    app, client: FlaskClient, make: Factory
) -> None:
    user = make.customer()
    client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    stolen = _copy_cookies(client)
    assert is_logged_in(_client_with(app, stolen))
    client.post("/logout")
    assert not is_logged_in(_client_with(app, stolen))
    assert not is_logged_in(_client_with(app, {"remember_token": stolen["remember_token"]}))
    # Signing in again works, with new cookies.
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert is_logged_in(client)


def test_an_unknown_email_costs_a_password_check_too(app, make: Factory, monkeypatch) -> None:
    """The answer's timing must not tell which addresses have accounts."""
    from support.auth import accounts

    checked: list[str] = []
    real = accounts.check_password_hash
    monkeypatch.setattr(
        accounts, "check_password_hash", lambda h, p: checked.append(p) or real(h, p)
    )
    assert accounts.authenticate("nobody@example.com", "guess") is None
    assert checked == ["guess"]
