"""altium2kicad conversion engine: Altium readers, a neutral model, KiCad writers.

A plain library: nothing here imports Airflow, so the command line and the pipeline share it.
"""

__version__ = "0.1.0"
