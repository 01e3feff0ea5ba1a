import ast
import subprocess
import sys
import warnings
from pathlib import Path

import dagster as dg

from tests.helpers import PIPELINE_TABLES, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_code_location_imports_neither_torch_nor_great_expectations():
    """Every run worker loads the code location before its first step; torch and Great Expectations
    cost seconds each and are imported by the step that uses them, not at load."""
    script = (
        "import sys, workbench_dagster.definitions as d\n"
        "assert d.defs.assets\n"
        "print(sorted(m for m in ('torch', 'great_expectations', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]", out.stdout


def test_code_location_loads_without_warnings():
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import DEFAULT_CONFIG, load_config

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        defs = build_definitions(load_config(DEFAULT_CONFIG))
    dg.Definitions.validate_loadable(defs)
    names = {a.key.to_user_string() for a in defs.assets}
    assert {
        *PIPELINE_TABLES,
        "baseline_models",
        "reference_audit",
        "warehouse",
        "image_scores",
        "per_label_scores",
        "metric_intervals",
        "model_comparisons",
        "agreement",
        "caption_flags",
        "review_queue",
        "review_inbox",
        "human_reviews",
        "human_eval_scores",
        "drift_reference",
        "drift",
        "baseline_versions",
        "network_comparison",
        "image_divergence",
        "counterfactual_scores",
        "slice_scores",
        "held_out_slice_scores",
        "prompt_variant_captions",
        "prompt_sensitivity",
        "image_quality",
        "near_duplicates",
        "dataset_balance",
        "dataset_export",
        "image_provenance",
        "ai_image_detector",
        "ai_detector_evaluation",
    } == names


def test_every_asset_has_description_group_and_kinds():
    from workbench_dagster.definitions import defs

    for spec in defs.resolve_all_asset_specs():
        assert spec.description, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_gpu_assets_run_in_the_gpu_pool_and_the_instance_caps_it():
    import yaml

    from workbench_dagster.definitions import defs

    pools = {a.key.to_user_string(): a.op.pool for a in defs.assets}
    assert {k for k, v in pools.items() if v == "gpu"} == {
        "baseline_models",
        "mllm_captions",
        "embeddings",
        "baseline_versions",
        "prompt_variant_captions",
    }
    instance_config = yaml.safe_load((ROOT / ".dagster_home" / "dagster.yaml").read_text(encoding="utf-8"))
    assert instance_config["concurrency"]["pools"]["default_limit"] == 1


def test_partitions_follow_the_design():
    from workbench_dagster.definitions import defs

    by_name = {a.key.to_user_string(): a for a in defs.assets}
    assert isinstance(by_name["prompts"].partitions_def, dg.DynamicPartitionsDefinition)
    multi = by_name["mllm_captions"].partitions_def
    assert isinstance(multi, dg.MultiPartitionsDefinition)
    assert [d.name for d in multi.partitions_defs] == ["batch", "model"]
    assert isinstance(by_name["semantic_graph"].partitions_def, dg.StaticPartitionsDefinition)


def test_a_bad_config_stops_the_load_with_file_and_field(tmp_path):
    path = write_config(tmp_path, graph={"k": "many"})
    result = subprocess.run(
        [sys.executable, "-c", "import workbench_dagster.definitions"],
        env={"WORKBENCH_CONFIG": str(path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode != 0
    assert str(path) in result.stderr and "graph.k" in result.stderr and "valid integer" in result.stderr


def test_one_vocabulary_group_stage_tag_and_job_agree():
    from assets._shared.stage import SHAPE_TAG, STAGE_TAG
    from workbench_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    for spec in defs.resolve_all_asset_specs():
        assert spec.tags[STAGE_TAG] == spec.group_name, spec.key
    for job in defs.jobs:
        selected = job.selection.resolve(graph)
        stages = {graph.get(key).group_name for key in selected}
        shapes = {graph.get(key).tags[SHAPE_TAG] for key in selected}
        assert len(stages) == len(shapes) == 1, job.name
        assert job.name == f"{stages.pop()}__{shapes.pop()}" and job.tags[STAGE_TAG] in job.name, job.name
    assert {a.key for a in defs.assets} == {key for job in defs.jobs for key in job.selection.resolve(graph)}


def python_files_importing(folder: Path, wanted) -> list[str]:
    """Files under `folder` importing a module whose top-level package `wanted` accepts."""
    offenders = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(wanted(n.split(".")[0]) for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    return offenders


def test_the_core_imports_no_dagster_in_any_stage_package():
    offenders = python_files_importing(ROOT / "workbench_dagster", lambda top: top.startswith("dagster"))
    assert offenders == ["workbench_dagster/definitions.py"]


def test_assets_do_not_import_sensors():
    assert python_files_importing(ROOT / "assets", lambda top: top == "sensors") == []
