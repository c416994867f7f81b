"""Limits that count for the whole deployment (N2): public calls, failed logins, failed charger
handshakes. The counts live in the database, so every process and node sees the same ones."""
