"""agents: see README."""
