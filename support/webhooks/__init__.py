"""Signed webhooks: admins' subscriptions, the delivery outbox, signing, the safe POST.

subscriptions.py  create, edit, roll the secret, delete; the delivery log
outbox.py         one delivery per event and webhook, written with the change; sent
                  once each, in order per webhook, with back-off (claim and lease)
payload.py        the JSON a receiver gets for a timeline event
signing.py        Support-Desk-Signature: t=<unix seconds>,v1=<HMAC-SHA256 hex>
http.py           the POST: http(s) only, no private addresses, no redirects, bounded
"""
