"""The modeleval console: results that outlive tasks, comparisons, manual evaluation.

A web server of its own (``modeleval console``; its own Deployment) with a database
(SQLite on a PVC, or PostgreSQL). Runners send it their results; people browse, compare and
annotate them in the browser, authenticated and authorised by Kubernetes (TokenReview,
SubjectAccessReview). See docs/console.md.

Layout: ``settings`` (environment), ``db`` (tables, engines, migrations), ``store`` (results:
ingest, queries, retention), ``annotations`` (manual evaluation), ``kubeapi`` (the Kubernetes
calls), ``auth`` (identities, sessions, permissions, CSRF), ``sync`` (mirror of the EvalTasks),
``web`` (the FastAPI application: pages, JSON API, ingest), ``server`` (the process).

Nothing in the operator or the runner imports this package: the runner talks to it over HTTP.
"""
