"""modeleval: a Kubernetes operator that deploys model services and evaluates them."""

__version__ = "0.1.0"
__all__ = ["__version__"]
