"""Interfaces to every I/O dependency; adapters implement them."""
