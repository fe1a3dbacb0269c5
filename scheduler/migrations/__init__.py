"""Alembic migrations for the Gatepost schema, shipped inside the package."""
