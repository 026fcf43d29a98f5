"""The demo's stories (support/demo.py): each ticket's subject, what the customer wrote,
its category and impact; the tags agents put on some of them; what agents and customers
say on the demo timelines."""

from __future__ import annotations

from support.models import Impact

SCENARIOS = [
    (
        "Charged twice for order #48213",
        "I bought a vintage lamp yesterday and my card statement "
        "shows two charges of 64.00 EUR from the marketplace. I only placed one order. Can you "
        "refund the duplicate?",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Can't sign in after changing my phone",
        "My two-step codes went to my old phone, which I "
        "traded in. Now I can't sign in at all. I still have access to my email.",
        "accounts",
        Impact.JUST_ME,
    ),
    (
        "Parcel shows delivered but nothing arrived",
        "Tracking for order #47710 says delivered on Monday at 14:02, "
        "but there was no parcel at my door and my neighbours have nothing either.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Refund not received after return",
        "I returned the jacket two weeks ago (the seller "
        "confirmed receipt on the 3rd) but the refund has not reached my card yet.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "My listing was removed without explanation",
        "My listing for a 1970s camera lens "
        "disappeared this morning. I got no email saying why. It is not a prohibited item.",
        "listings",
        Impact.JUST_ME,
    ),
    (
        "Payout still pending after 7 days",
        "I sold three items last week. The payouts page "
        "has said 'pending' for 7 days and my bank has received nothing.",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Checkout fails for all our buyers",
        "Since about 09:30 every buyer in our shop gets "
        "'Something went wrong' at checkout. We have had zero orders today.",
        "orders",
        Impact.MANY_USERS,
    ),
    (
        "Suspicious email asking for my password",
        "I got an email that looks like it is from you "
        "asking me to 'confirm my account' on a strange link. Is this real? I did not click it.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "Please delete my data",
        "I no longer use the marketplace. Please delete my account and all "
        "personal data you hold about me, as the GDPR allows.",
        "privacy",
        Impact.JUST_ME,
    ),
    (
        "Item not as described — seller not answering",
        "The 'mint condition' watch I received has "
        "a cracked glass. I messaged the seller four days ago and have had no answer.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "Shipping label won't print",
        "When I click Print label on order #47982 I get a blank PDF. Tried Chrome and Firefox.",
        "shipping",
        Impact.SOME_USERS,
    ),
    (
        "Offer accepted but order never created",
        "The seller accepted my offer of 120 EUR for a "
        "bike, but no order appears in my purchases and I was not charged.",
        "orders",
        Impact.JUST_ME,
    ),
    (
        "Someone changed my account email",
        "I received a notice that my email was changed to an "
        "address I don't know. I can't sign in any more. I think my account was hacked.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "How do I change the currency shown?",
        "Prices show in USD but I live in Germany. Where can I switch to euros?",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Wrong size sent, seller wants me to pay return postage",
        "I ordered the sneakers in 42 and got 39. The seller says I have to pay 8 EUR to send "
        "them back. That's not fair, it was their mistake.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "Verification keeps rejecting my ID",
        "I've uploaded my passport four times for seller verification and each time it says "
        "'document unreadable'. The photo is sharp.",
        "accounts",
        Impact.JUST_ME,
    ),
    (
        "Buyer left a review for an item they never bought",
        "A user left me a 1-star review on my shop page but has never bought anything from me. "
        "Can it be removed?",
        "listings",
        Impact.JUST_ME,
    ),
    (
        "Bulk upload CSV fails on line 1",
        "Our shop uploads listings by CSV every night. Since yesterday every file fails with "
        "'invalid header on line 1', with the template you provide.",
        "listings",
        Impact.SOME_USERS,
    ),
    (
        "Courier says the address doesn't exist",
        "DHL returned my parcel (order #48850) saying the address doesn't exist. It's my home "
        "address and the same one I've used for years.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Promo code WINTER15 not accepted",
        "The code from your newsletter says 'not valid for this item' on every item I try, "
        "including ones in the winter sale.",
        "orders",
        Impact.SOME_USERS,
    ),
    (
        "Paid with PayPal, order still says awaiting payment",
        "PayPal shows the 45.90 EUR payment as completed on Tuesday, but order #48477 still "
        "says 'awaiting payment' and the seller won't ship.",
        "payments",
        Impact.JUST_ME,
    ),
    (
        "Can I get an invoice with my company's VAT number?",
        "We buy office furniture through the marketplace. Our accountant needs invoices with "
        "our VAT number on them. Where can I add it?",
        "orders",
        Impact.JUST_ME,
    ),
    (
        "Seller asked me to pay outside the platform",
        "A seller messaged me to pay by bank transfer to get a discount. That sounds like a "
        "scam. I've attached nothing and paid nothing.",
        "security",
        Impact.JUST_ME,
    ),
    (
        "Download my data export",
        "I requested a copy of my data 10 days ago and never got the email with the link.",
        "privacy",
        Impact.JUST_ME,
    ),
    (
        "Parcel stuck in customs for two weeks",
        "My order from a UK seller has been 'held at customs' since the 14th. Nobody tells me "
        "what they need.",
        "shipping",
        Impact.JUST_ME,
    ),
    (
        "Chargeback opened by a buyer after delivery",
        "The buyer signed for the parcel and now their bank opened a chargeback saying the item "
        "never arrived. I have the signed proof of delivery.",
        "refunds",
        Impact.JUST_ME,
    ),
    (
        "App crashes when I open my messages",
        "Since the last update the Android app closes as soon as I tap Messages. Reinstalling "
        "didn't help.",
        "accounts",
        Impact.SOME_USERS,
    ),
    (
        "Holiday mode didn't pause my listings",
        "I turned on holiday mode on Friday but got two orders over the weekend that I can't "
        "ship until next week.",
        "listings",
        Impact.JUST_ME,
    ),
]

# Tags agents put on some of the tickets they work (by subject), as a team would.
TAGS = {
    "Charged twice for order #48213": ["refund", "chargeback"],
    "Can't sign in after changing my phone": ["mobile app", "2fa"],
    "Parcel shows delivered but nothing arrived": ["shipping delay"],
    "Refund not received after return": ["refund"],
    "Payout still pending after 7 days": ["vip seller", "payouts"],
    "Checkout fails for all our buyers": ["vip seller", "outage", "checkout"],
    "Item not as described — seller not answering": ["refund", "chargeback", "dispute"],
    "Shipping label won't print": ["mobile app", "shipping delay"],
}

AGENT_FIRST_REPLY = (
    "Hi {name}, thanks for the details. I'm looking into this now and will update you here."
)
AGENT_QUESTION = (
    "Could you send us a screenshot of what you see, and the date you first noticed it?"
)
CUSTOMER_ANSWER = "Sure, here it is. I first noticed it on Monday morning."
AGENT_FIX = "Thanks, that helped. We have fixed the problem on our side; please check it now."
