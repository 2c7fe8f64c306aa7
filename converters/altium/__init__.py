"""Altium readers: compound files, record framing, and one reader per library kind."""
