"""Library database (runs, inventory, converted items, mapping rules, gates, metrics, audit)."""
