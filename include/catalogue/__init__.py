"""The library catalogue: every deployed symbol and footprint with its picture, fields, 3D model,
Altium origin and approximations, as searchable HTML and a PDF beside the version it describes,
and its summary pages on a wiki (docs/catalogue.md)."""
