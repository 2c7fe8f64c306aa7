"""The management and team dashboards: pages of the Airflow UI served by the plugin (docs/reports.md)."""
