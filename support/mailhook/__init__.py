"""`POST /inbound/email`: raw MIME from an email provider's inbound webhook."""
