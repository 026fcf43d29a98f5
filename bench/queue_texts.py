"""What bench/agent_queue.py's tickets say (subjects, sentences about places and
things) and what its agents search for."""

from __future__ import annotations

import random

SUBJECTS = [
    "Refund not received after return",
    "Charged twice for one order",
    "Parcel shows delivered but nothing arrived",
    "Can't sign in after changing my phone",
    "Listing removed without explanation",
    "Payout still pending after 7 days",
    "Shipping label won't print",
    "Someone changed my account email",
    "Item arrived damaged",
    "Seller not responding to messages",
    "Coupon code rejected at checkout",
    "Two-factor code never arrives",
]
PLACES = [
    "Rotterdam",
    "Lyon",
    "Leeds",
    "Porto",
    "Gdansk",
    "Malmo",
    "Bilbao",
    "Graz",
    "Cork",
    "Turin",
]
THINGS = ["lamp", "blender", "jacket", "headphones", "kettle", "sofa", "camera", "bicycle", "vase"]
SENTENCES = [
    "The courier says the parcel was left in {place} but I never got it.",
    "I returned the {thing} two weeks ago and the refund is still not here.",
    "Order {order} was charged twice on my card statement.",
    "We have asked the seller to confirm the tracking number for order {order}.",
    "Thanks for your patience, we are looking into the {thing} with the carrier.",
    "The payout for order {order} is held while we check the chargeback.",
    "Could you send a photo of the damaged {thing} and the box it came in?",
    "Internal: customer has three open disputes, check before refunding.",
    "The seller in {place} confirmed the {thing} left their warehouse on Monday.",
    "I changed my phone and now the sign-in code goes to the old number.",
    "Your refund of the {thing} was approved and should arrive within 5 working days.",
    "Escalating: possible account takeover, email changed from {place}.",
]
TAGS = ["vip", "chargeback", "carrier-delay", "fraud-check", "repeat-contact", "seller-dispute"]
SEARCHES = [
    "refund",
    "parcel rotterdam",
    '"tracking number"',
    "chargeback blender",
    "damaged kettle photo",
    "sign-in code phone",
    "order {order}",
    "{email}",
    "{ref}",
    "bicycle (lyon",
    '"account takeover" -graz',
]


def text(rng: random.Random, sentences: int) -> str:
    return " ".join(
        rng.choice(SENTENCES).format(
            place=rng.choice(PLACES), thing=rng.choice(THINGS), order=rng.randint(10_000, 99_999)
        )
        for _ in range(sentences)
    )


def message(rng: random.Random) -> str:
    return text(rng, rng.randint(1, 3))
