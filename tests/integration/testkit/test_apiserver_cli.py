"""``python -m modeleval_testkit.apiserver``: the emulator started by hand serves a kubeconfig."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes

from modeleval_testkit.apiserver.testcrd import GROUP, PLURAL, VERSION, widget


def test_cli_serves_crds_and_writes_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modeleval_testkit.apiserver",
            "--demo-crd",
            "--kubeconfig",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Kubernetes API emulator at https://127.0.0.1:")
        assert process.stdout.readline().startswith(f"kubeconfig: {kubeconfig}")
        client = kubernetes.config.new_client_from_config(str(kubeconfig))
        api = kubernetes.client.CustomObjectsApi(client)
        created = api.create_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, widget("cli", size=2)
        )
        assert created["spec"]["mode"] == "fast"  # defaulted by the CRD schema
        names = [
            i["metadata"]["name"]
            for i in api.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)["items"]
        ]
        assert names == ["cli"]
        client.close()
    finally:
        process.terminate()
        process.communicate(timeout=20)  # also closes the pipe
