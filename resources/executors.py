"""The executor a deployment runs stage jobs with, chosen by WORKBENCH_EXECUTOR (deploy/README.md).

- unset or `in_process`: the jobs' own executors (assets/_shared/stage.py), as on a laptop;
- `k8s`: `k8s_job_executor` from dagster-k8s, one Kubernetes Job per step. Steps of assets in the
  `gpu` pool get the GPU node selector (WORKBENCH_GPU_NODE_SELECTOR, `key=value`, default the NVIDIA
  GPU operator's `nvidia.com/gpu.present=true`), a toleration of the GPU taint and one
  `nvidia.com/gpu`; the rest run on CPU nodes. The instance's `gpu` pool limit still holds: a GPU step
  waits for a slot before its pod is created.

Why Kubernetes and not Celery: Jetstream2 (the case in issue 16) gives Kubernetes, the GPU node pool is
then the scheduler's to scale, and a step's image, memory and GPU are declared per step; Celery
needs a broker, long-lived workers on every GPU VM and a shared image by hand.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "WORKBENCH_EXECUTOR"
GPU_SELECTOR_ENV = "WORKBENCH_GPU_NODE_SELECTOR"
DEFAULT_GPU_SELECTOR = "nvidia.com/gpu.present=true"
GPU_POOL = "gpu"
KINDS = ("in_process", "k8s")


def gpu_ops(assets) -> list[str]:
    """The op names of the assets that declare the `gpu` pool."""
    return sorted(
        a.op.name for a in assets if isinstance(a, dg.AssetsDefinition) and getattr(a.op, "pool", None) == GPU_POOL
    )


def _node_selector() -> dict[str, str]:
    text = os.environ.get(GPU_SELECTOR_ENV, DEFAULT_GPU_SELECTOR)
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{GPU_SELECTOR_ENV}={text!r}: expected key=value, such as {DEFAULT_GPU_SELECTOR}")
    return {key: value}


def gpu_step_config() -> dict:
    """What a GPU step's pod asks for: a GPU node, its taint tolerated, one GPU."""
    return {
        "pod_spec_config": {
            "node_selector": _node_selector(),
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
        "container_config": {
            "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "2", "memory": "8Gi"}}
        },
    }


CPU_STEP_CONFIG = {"container_config": {"resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}}


def deployed_executor(assets) -> dg.ExecutorDefinition | None:
    """The deployment's executor for a job of these assets, or None for the job's own."""
    kind = os.environ.get(EXECUTOR_ENV, "in_process")
    if kind not in KINDS:
        raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected one of {list(KINDS)}")
    if kind == "in_process":
        return None
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor.configured(
        {
            "max_concurrent": int(os.environ.get("WORKBENCH_K8S_MAX_CONCURRENT", "4")),
            "step_k8s_config": CPU_STEP_CONFIG,
            "per_step_k8s_config": {op: gpu_step_config() for op in gpu_ops(assets)},
        },
        name="k8s",
    )
