"""The Textual chat UI; it talks to `hagent.Agent` only (issue #6)."""
