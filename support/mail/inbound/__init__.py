"""Inbound email: intake (store raw, then file), parsing, threading, quarantine."""
