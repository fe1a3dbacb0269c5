"""Reusable widgets of the Gatepost terminal UI."""
