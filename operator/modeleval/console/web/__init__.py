"""The console's web application: ``app`` (FastAPI, security headers, errors), ``deps``
(identity, permissions, CSRF for every router), ``pages`` (HTML), ``api`` (JSON), ``ingest``
(from runners), ``render`` (templates, charts), ``services`` (what handlers share)."""
