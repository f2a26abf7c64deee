"""The runner process: ``python -m modeleval.runner infer|score|perf`` (see docs/dev/CONTRACTS.md).

Modules, one concern each: ``datasets`` (parse rows), ``sources`` (fetch files), ``payloads``
(prompts and request bodies), ``client`` (HTTP with retries), ``engine`` (``parallel``
workers), ``checkpoint`` (predictions file), ``progress`` / ``kubestatus`` (status patches),
``infer`` (the inference phase), ``taskfile`` (task.json → ``RunConfig``), ``perf``
(performance measurements).
"""
