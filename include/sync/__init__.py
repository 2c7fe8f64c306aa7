"""Site synchronisation: library versions, parts, mapping rules, preferences and audit logs to every site."""
