"""Email as a channel: addresses (the signed plus address); inbound mail comes next."""
