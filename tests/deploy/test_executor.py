"""WORKBENCH_EXECUTOR=k8s: every stage job runs on dagster-k8s's k8s_job_executor, and the steps of the
`gpu` pool's assets get pods for a GPU node. No cluster here: the pod spec is the one dagster-k8s builds
(construct_dagster_k8s_job, the kubernetes client's own V1Job) from the executor's per-step config."""

from __future__ import annotations

import pytest
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

from resources.executors import gpu_ops
from tests.helpers import write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config


@pytest.fixture
def k8s_defs(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_EXECUTOR", "k8s")
    monkeypatch.setenv("WORKBENCH_GPU_NODE_SELECTOR", "gpu-pool=a100")
    return build_definitions(load_config(write_config(tmp_path)))


def _per_step(executor_def) -> dict:
    return executor_def.config_schema.resolve_config({}).value["config"]["per_step_k8s_config"]


def test_every_stage_job_runs_on_the_k8s_executor_with_gpu_steps_on_gpu_nodes(k8s_defs):
    jobs = [j for j in k8s_defs.jobs if "workbench/stage" in j.tags]
    assert jobs and {j.executor_def.name for j in jobs} == {"k8s"}
    gpu = set(gpu_ops(k8s_defs.assets))
    assert {"baseline_models", "mllm_captions", "embeddings"} <= gpu
    captioning = next(j for j in jobs if j.name == "captioning__model_batch")
    steps = _per_step(captioning.executor_def)
    assert "mllm_captions" in steps
    assert steps["mllm_captions"]["pod_spec_config"]["node_selector"] == {"gpu-pool": "a100"}


def test_the_gpu_step_pod_asks_for_a_gpu_node_and_one_gpu(k8s_defs):
    captioning = next(j for j in k8s_defs.jobs if j.name == "captioning__model_batch")
    config = UserDefinedDagsterK8sConfig.from_dict(_per_step(captioning.executor_def)["mllm_captions"])
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(job_image="workbench:cuda", dagster_home="/opt/workbench/deploy"),
        ["dagster", "api", "execute_step"],
        "dagster-step-mllm-captions",
        user_defined_k8s_config=config,
    )
    pod = job.spec.template.spec
    assert pod.node_selector == {"gpu-pool": "a100"}
    assert [t.key for t in pod.tolerations] == ["nvidia.com/gpu"]
    assert pod.containers[0].resources.limits == {"nvidia.com/gpu": "1"}


def test_without_the_variable_jobs_keep_their_own_executors(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_EXECUTOR", raising=False)
    defs = build_definitions(load_config(write_config(tmp_path)))
    assert "k8s" not in {j.executor_def.name for j in defs.jobs}


def test_an_unknown_executor_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="WORKBENCH_EXECUTOR='celery'"):
        build_definitions(load_config(write_config(tmp_path)))
