"""A local workload executor: kubelet, scheduler, workload controllers and kube-proxy.

It is an ordinary Kubernetes API client (aiohttp, bearer token). For every Pod it runs the
containers as local processes (an image -> command map decides what stands in for an image),
writes Pod status as the kubelet would (probes, restarts, CrashLoopBackOff, OOMKilled,
ErrImagePull, Unschedulable), and it reconciles Deployments (via ReplicaSets) and Jobs into
Pods with the status fields their controllers write. Service URLs (``http://svc.ns.svc:port``)
are rewritten to loopback proxies that forward to ready pods.

    from modeleval_testkit.executor import Executor, ExecutorConfig

    with Executor(api_url, superuser_token, ExecutorConfig(time_scale=0.05)) as executor:
        ...
        executor.kill_pod("job-abcde", "ns")
        executor.pod_log("job-abcde", "ns")
        executor.resolve_url("http://svc.ns.svc:8000/v1")
"""

from __future__ import annotations

from .config import MOCK_MODEL_SERVER, ExecutorConfig
from .executor import Executor, TokenMinter
from .launch import MOUNTS_ENV

__all__ = ["MOCK_MODEL_SERVER", "MOUNTS_ENV", "Executor", "ExecutorConfig", "TokenMinter"]
