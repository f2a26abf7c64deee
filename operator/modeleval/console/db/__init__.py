"""The console's database: tables (``models``), engines and migrations (``engine``)."""
