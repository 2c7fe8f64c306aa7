"""Sites: the KiCad HTTP library per environment, concurrent edits of parts, database scaling."""
