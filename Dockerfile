# syntax=docker/dockerfile:1
# One image for the operator and the runner.
#   operator (default CMD): python -m kopf run --standalone --all-namespaces ... -m modeleval.main
#   runner (Jobs override the command): python -m modeleval.runner <infer|score|perf|manual>
#   console (its own Deployment): modeleval console
# The base is pinned by digest; refresh it with
#   docker buildx imagetools inspect python:3.11-slim-bookworm
# CI builds this same file on a base it makes itself (scripts/build-image.sh: a debootstrap
# Debian with the same Python minor version) with --build-arg PYTHON_IMAGE=<that base>.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

# Build stage: a wheel of this project, installed with its dependencies and the
# console's extra (pinned by constraints.txt) into a virtual environment that the
# runtime stage copies as a single layer.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
# Offline builds (scripts/build-image.sh: a registry-less machine, wheels built on the host)
# pass --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheelhouse. An ARG without a
# default that is not passed stays unset, so a release build installs from the index as before.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
# The optional wheelhouse (the [e] pattern may match nothing; constraints.txt always matches).
COPY constraints.txt wheelhous[e] /wheelhouse/
# The dependencies in their own layer (the console's extra included: the same image serves it);
# a source edit does not reinstall them.
RUN python -m venv /opt/modeleval \
 && python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['console']))" >/tmp/requirements.txt \
 && /opt/modeleval/bin/pip install --no-cache-dir --constraint constraints.txt \
        --requirement /tmp/requirements.txt
COPY operator/ ./operator/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/modeleval/bin/pip install --no-cache-dir --no-deps /wheels/modeleval-*.whl \
 && /opt/modeleval/bin/pip check

# Runtime stage: the base image, the virtual environment, an unprivileged user.
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="modeleval" \
      org.opencontainers.image.description="Kubernetes operator and runner that deploy and evaluate model services" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/modeleval/modeleval"
ENV PATH=/opt/modeleval/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/modeleval /opt/modeleval
# A passwd entry for uid 65532: Kopf names itself with getpass.getuser() when POD_ID is unset,
# which fails for a uid without one (the operator would exit at start). HOME is /tmp, the only
# writable path of the pods (the root filesystem is read-only).
RUN groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin nonroot
# uid/gid 65532 ("nonroot"); the chart's securityContext uses the same ids.
USER 65532:65532
WORKDIR /tmp
# 8080: Kopf's /healthz (--liveness); 9090: Prometheus /metrics; 8000: the console.
EXPOSE 8080 9090 8000
CMD ["python", "-m", "kopf", "run", "--standalone", "--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz", "-m", "modeleval.main"]
