"""Progress reports from the library database: the weekly PDF for management, the daily e-mail."""
