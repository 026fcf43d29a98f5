"""Privacy: the audit log, "export my data", "erase my data" and retention.

Domain code (no screens): `audit` (record and read the append-only log), `stores`
(every place personal data lives, in one list), `export`, `erasure`, `retention`.
"""
