"""`flask user create`, `role` and `token`: how a real deployment gets its first admin
(and a script its API token)."""

from __future__ import annotations

from sqlalchemy import func, select

from support.extensions import db
from support.models import Role, User

GOOD = "correct horse battery staple"


def run(app, *args: str, password: str | None = None):
    env = {"SUPPORT_NEW_PASSWORD": password} if password is not None else {}
    return app.test_cli_runner().invoke(args=["user", *args], env=env)


def test_create_the_first_admin(app, client) -> None:
    result = run(
        app, "create", "Boss@Example.com", "--name", "Bo Boss", "--role", "admin", password=GOOD
    )
    assert result.exit_code == 0, result.output
    assert "Created boss@example.com (admin, tier 1)." in result.output
    admin = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert admin.role == Role.ADMIN and admin.check_password(GOOD)
    login = client.post("/login", data={"email": "boss@example.com", "password": GOOD})
    assert login.status_code == 303
    assert client.get("/admin/").status_code == 200


def test_password_is_prompted_twice_when_not_in_the_environment(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "agent@example.org", "--name", "An Agent", "--tier", "2"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(select(User).where(User.email == "agent@example.org"))
    assert (agent.role, agent.tier) == (Role.AGENT, 2)


def test_a_weak_password_or_taken_email_is_refused_and_nothing_is_written(app, make) -> None:
    weak = run(app, "create", "a@example.org", "--name", "A", password="password")
    assert weak.exit_code != 0 and "password" in weak.output.lower()
    taken = make.customer()
    again = run(app, "create", taken.email, "--name", "B", password=GOOD)
    assert again.exit_code != 0 and "already has an account" in again.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_role_turns_a_customer_into_an_agent_and_back(app, make) -> None:
    user = make.customer()
    result = run(app, "role", user.email, "agent", "--tier", "2")
    assert result.exit_code == 0 and "is now agent, tier 2" in result.output
    db.session.refresh(user)
    assert (user.role, user.tier) == (Role.AGENT, 2)
    run(app, "role", user.email, "customer")
    db.session.refresh(user)
    assert (user.role, user.tier) == (Role.CUSTOMER, None)
    missing = run(app, "role", "nobody@example.org", "admin")
    assert missing.exit_code != 0 and "No account for nobody@example.org" in missing.output


def test_token_prints_a_working_api_token_for_agents_only(app, client, make) -> None:
    agent, customer = make.agent(), make.customer()
    result = run(app, "token", agent.email, "--read-only", "--days", "30")
    assert result.exit_code == 0, result.output
    secret = result.output.split()[0]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["token"]["scope"] == "read" and me.json["token"]["expires_at"]
    refused = run(app, "token", customer.email)
    assert refused.exit_code != 0 and "not an active agent" in refused.output
