"""Keeping the library safe: checking it, backing it up, copying it, importing into it."""
