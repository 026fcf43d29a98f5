"""The agent board: tickets by status, filters, and the ticket panel."""
