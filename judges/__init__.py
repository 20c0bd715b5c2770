"""judges: see README."""
