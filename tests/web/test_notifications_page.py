"""The notifications page: the subject with the news, agents go to the panel, and paging
past the newest 50."""

from __future__ import annotations

import re

from support.extensions import db
from support.models import Notification


def _notify(user, ticket, count: int) -> None:
    db.session.add_all(
        Notification(user_id=user.id, ticket=ticket, text=f"News {n} on {ticket.ref}.")
        for n in range(count)
    )
    db.session.commit()


def test_agents_open_the_panel_and_see_the_subject(client, auth, make) -> None:
    agent = make.agent()
    ticket = make.ticket(subject="Parcel stuck in customs")
    _notify(agent, ticket, 1)
    auth.login(agent)
    page = client.get("/notifications/").text
    assert f'href="/board/tickets/{ticket.ref}"' in page
    assert "Parcel stuck in customs" in page and f"News 0 on {ticket.ref}." in page
    client.get(f"/board/tickets/{ticket.ref}")  # opening the panel reads the news
    assert db.session.get(Notification, 1).read_at is not None


def test_customers_still_go_to_their_page(client, auth, make) -> None:
    ticket = make.ticket()
    customer = ticket.customer
    _notify(customer, ticket, 1)
    auth.login(customer)
    page = client.get("/notifications/").text
    assert f'href="/tickets/{ticket.ref}"' in page and "/board/" not in page


def test_paging_past_fifty(client, auth, make) -> None:
    agent = make.agent()
    ticket = make.ticket()
    _notify(agent, ticket, 55)
    auth.login(agent)
    first = client.get("/notifications/").text
    assert first.count("notification-text") == 50 and "News 54 " in first
    older = re.search(r'href="(/notifications/\?before=\d+)"', first).group(1)
    second = client.get(older).text
    assert second.count("notification-text") == 5 and "News 0 " in second
    assert "Older notifications" not in second and "Newest" in second
    for bad in ("²", "99999999999999999999", "-1", "x"):
        assert client.get(f"/notifications/?before={bad}").status_code == 200
