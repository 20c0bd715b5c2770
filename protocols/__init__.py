"""protocols: see README."""
