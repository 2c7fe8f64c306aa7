"""Team workflow: roles, approval levels, promotion between environments, the release window."""
