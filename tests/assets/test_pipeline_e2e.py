"""The whole graph in process on a tiny config: real Dagster runs, real Parquet, a real DuckDB file."""

import io
import json
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd
import pytest
from PIL import Image

from assets._shared.runner import run_pipeline
from tests.helpers import PIPELINE_TABLES, write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config

TABLES = [*PIPELINE_TABLES, "model_leaderboard", "community_summary"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbench")
    config = load_config(write_config(folder))
    defs = build_definitions(config)
    (folder / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(folder / "dagster_home"))
    results = run_pipeline(defs, instance, config, log=lambda _: None)
    yield config, defs, instance, results
    instance.dispose()


def table(config, name: str) -> pd.DataFrame:
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        return con.sql(f"select * from {name}").df()


def test_every_run_succeeds_and_the_warehouse_has_rows(built):
    config, _, _, results = built
    assert all(r.success for r in results)
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        counts = {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in TABLES}
    assert all(n > 0 for n in counts.values()), counts
    assert counts["mllm_captions"] == 2 * (48 + 12)
    assert counts["eval_scores"] == 4


def test_networks_have_every_variant_exports_and_a_model_comparison(built):
    config, *_ = built
    edges, nodes = table(config, "semantic_graph"), table(config, "centrality_table")
    variants = {"labels", "labels_captions", "labels_captions_comments"}
    assert set(edges["variant"]) == variants | {"image_label"}
    assert set(nodes.loc[nodes["node_type"] == "label", "variant"]) == {"image_label"}
    assert (
        edges.loc[edges["variant"] == "labels", "visual_similarity"] > 0
    ).any()  # baseline models: visual layer
    for model in ("base-a", "base-b"):
        for variant in variants | {"image_label"}:
            assert (config.data_dir / "exports" / model / f"{variant}.gexf").exists()
            assert (config.data_dir / "exports" / model / f"{variant}.graphml").exists()
    comparison = table(config, "network_comparison")
    assert set(comparison["variant"]) == variants and comparison["ari"].between(-1, 1).all()
    assert set(table(config, "image_divergence")["variant"]) == variants
    summary = table(config, "community_summary")
    assert set(summary["variant"]) == variants


def test_leaderboard_ranks_both_models_on_held_out_batches_only(built):
    config, *_ = built
    board = table(config, "model_leaderboard").sort_values("rank")
    assert sorted(board["model"]) == ["base-a", "base-b"]
    assert set(board["n_batches"]) == {1}  # b001 only: the training batch is excluded
    assert board["f1_micro"].between(0, 1).all()


def test_evaluation_tables_carry_intervals_per_label_scores_and_agreement(built):
    config, _, _, results = built
    board = table(config, "model_leaderboard")
    assert board["f1_micro_ci_low"].notna().all()
    assert (
        (board["f1_micro_ci_low"] <= board["f1_micro"]) & (board["f1_micro"] <= board["f1_micro_ci_high"])
    ).all()
    n_labels = len(config.scenario_data.label_ids)
    per_label = table(config, "per_label_scores")
    assert len(per_label) == 2 * 2 * n_labels
    held_out = per_label[per_label["batch"] == "b001"].groupby("model")[["tp", "fp", "fn", "tn"]].sum().sum(axis=1)
    assert (held_out == 12 * n_labels).all()  # every cell of every image lands in one confusion count
    comparisons = table(config, "model_comparisons")
    assert len(comparisons) == 2 * len(comparisons["metric"].unique())
    agreement = table(config, "agreement")
    assert set(agreement["batch"]) == {"train", "b001"} and set(agreement["comparison"]) == {"models"}
    heatmaps = [
        m.metadata.get("confusion_heatmap")
        for r in results
        for m in r.asset_materializations_for_node("per_label_scores")
    ]
    assert heatmaps and all(h is not None and "data:image/png;base64," in h.value for h in heatmaps)


def test_checks_ran_and_passed(built):
    _, _, _, results = built
    evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
    checked = {e.asset_key.to_user_string() for e in evaluations}
    assert {
        "prompts",
        "synthetic_images",
        "mllm_captions",
        "eval_scores",
        "centrality_table",
        "communities",
    } <= checked
    failed = [e for e in evaluations if not e.passed]
    # The warnings this seeded data earns, and nothing else may fail: the painter's flyers with one
    # heading and slogan lie within a near-duplicate's hash distance (README "Dataset quality and
    # balance"), and b001's 12 prompts drew `impunity` as the theme 8 times of a uniform six (Holm
    # p 0.006 < 0.01): a small batch off its target, which is what `balanced` is there to say.
    warned = {(e.asset_key.to_user_string(), e.check_name) for e in failed}
    assert warned <= {
        ("image_quality", "no_near_duplicates_in_batch"),
        ("near_duplicates", "no_near_duplicates"),
        ("dataset_balance", "balanced"),
    }, warned
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in failed)
    balance = [e for e in failed if e.check_name == "balanced"]
    assert len(balance) <= 1
    for e in balance:
        off = e.metadata["off_balance"].value
        assert "theme" in off and "scene_type" not in off, off


def test_second_run_runs_nothing_and_a_forced_one_makes_no_model_call(built):
    config, defs, instance, _ = built
    lines = []
    assert run_pipeline(defs, instance, config, log=lines.append) == []
    assert lines[-1].startswith("  0 run(s);")
    results = run_pipeline(defs, instance, config, log=lambda _: None, force=True)
    assert all(r.success for r in results)
    calls = [
        m.metadata["model_calls"].value
        for r in results
        for m in r.asset_materializations_for_node("mllm_captions")
    ]
    assert calls and sum(calls) == 0
    registry = pd.read_parquet(config.tables_dir / "baseline_models.parquet")
    assert not registry["trained"].any()
    captions = table(config, "mllm_captions")
    assert captions["cache_hit"].all()


def test_sensor_turns_a_landing_folder_into_a_batch_with_a_failure_row(built, monkeypatch):
    config, defs, instance, _ = built
    folder = config.landing_dir / "street photos"
    folder.mkdir(parents=True)
    for i, color in enumerate(["purple", "orange", "teal"]):
        buffer = io.BytesIO()
        Image.new("RGB", (80, 60), color).save(buffer, format="PNG")
        (folder / f"photo{i}.png").write_bytes(buffer.getvalue())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")

    sensor = next(s for s in defs.sensors if s.name == "workbench_updates")
    monkeypatch.setenv("WORKBENCH_LANDING_SETTLE", "3600")  # a folder still being copied waits
    assert isinstance(sensor(dg.build_sensor_context(instance=instance, resources=defs.resources)), dg.SkipReason)
    monkeypatch.setenv("WORKBENCH_LANDING_SETTLE", "0")

    def tick():
        return sensor(dg.build_sensor_context(instance=instance, resources=defs.resources))

    registered = tick()
    assert registered.dynamic_partitions_requests[0].partition_keys == ["street_photos"]
    instance.add_dynamic_partitions("prompt_batches", ["street_photos"])
    result = tick()
    # only the new batch's generation runs first; what reads it waits for it
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [("generation__batch", "street_photos")]
    assert "prompts: missing" in result.run_requests[0].tags["workbench/reason"]
    key = result.run_requests[0].run_key

    # Same bytes: same run key. New bytes: a new run key.
    assert tick().run_requests[0].run_key == key
    (folder / "photo0.png").write_bytes((folder / "photo1.png").read_bytes())
    assert tick().run_requests[0].run_key != key

    results = run_pipeline(defs, instance, config, log=lambda _: None)
    assert all(r.success for r in results)
    images = pd.read_parquet(config.tables_dir / "synthetic_images" / "street_photos.parquet")
    failed = images[images["status"] == "failed"]
    assert len(images) == 4 and len(failed) == 1
    assert "broken.jpg" in failed["error"].iloc[0] and "not a decodable image" in failed["error"].iloc[0]
    captions = table(config, "mllm_captions")
    landed = captions[captions["batch"] == "street_photos"]
    assert len(landed) == 8 and (landed["parse_status"] == "error").sum() == 2
    nodes = table(config, "centrality_table")
    landed_nodes = nodes[(nodes["batch"] == "street_photos") & (nodes["variant"] == "labels")]
    assert len(landed_nodes) == 6  # 3 decodable images x 2 models reach the graph
    assert isinstance(tick(), dg.SkipReason)  # the chain has run: nothing more to launch


def test_a_new_batch_runs_only_what_reads_it(built):
    """A batch added to the config: the nightly schedule and the sensor ask for its generation only, and
    the runner then runs its partitions and the corpus ones that read it, nothing of the old batches."""
    import yaml

    config, _, instance, _ = built
    data = yaml.safe_load(config.source_path.read_text(encoding="utf-8"))
    data["batches"].append({"id": "b002", "n_images": 6})
    path = config.source_path.with_name("workbench.b002.yaml")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    bigger = load_config(path)
    defs = build_definitions(bigger)
    instance.add_dynamic_partitions("prompt_batches", ["b002"])
    nightly = next(s for s in defs.schedules if s.name == "nightly_generation__batch")
    context = dg.build_schedule_context(
        instance=instance,
        repository_def=defs.get_repository_def(),
        resources=defs.resources,
        scheduled_execution_time=datetime(2026, 11, 23, 2, tzinfo=UTC),
    )
    requests = nightly.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["b002"]
    assert requests[0].run_key.startswith("nightly-2026-11-23-")
    sensor = next(s for s in defs.sensors if s.name == "workbench_updates")
    ticked = sensor(dg.build_sensor_context(instance=instance, resources=defs.resources))
    assert [(r.job_name, r.partition_key) for r in ticked.run_requests] == [("generation__batch", "b002")]

    results = run_pipeline(defs, instance, bigger, log=lambda _: None)
    assert all(r.success for r in results)
    ran = {str(r.dagster_run.tags.get("dagster/partition")) for r in results}
    assert ran == {"b002", "b002|base-a", "b002|base-b", "base-a", "base-b", "None"}, ran
    everything = {e.asset_key.to_user_string() for r in results for e in r.get_asset_materialization_events()}
    assert not everything & {"baseline_models", "drift_reference"}  # they read the training batch only
    per_batch = [r for r in results if r.dagster_run.tags.get("dagster/partition") == "b002"]
    ran_assets = {e.asset_key.to_user_string() for r in per_batch for e in r.get_asset_materialization_events()}
    assert {"drift", "agreement", "human_reviews", "review_queue"} <= ran_assets
    assert run_pipeline(defs, instance, bigger, log=lambda _: None) == []
    assert isinstance(sensor(dg.build_sensor_context(instance=instance, resources=defs.resources)), dg.SkipReason)


def test_a_failing_blocking_check_stops_downstream_work(built):
    config, defs, instance, _ = built
    from workbench_dagster.captioning.call_cache import CallCache

    cache = CallCache(config.cache_dir / "calls")
    for key, record in list(cache.items()):
        if record.get("batch") == "b001" and record.get("model") == "base-a":
            record["labels"] = ["riot"]  # outside the taxonomy
            cache.put(key, record)
    key = dg.MultiPartitionKey({"model": "base-a", "batch": "b001"})
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets("mllm_captions", "preprocessed_text"),
        partition_key=str(key),
        raise_on_error=False,
    )
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key.to_user_string(), e.check_name) for e in failed] == [("mllm_captions", "expectations")]
    assert "riot" in failed[0].metadata["report"].value
    assert not result.asset_materializations_for_node("preprocessed_text")
    # and no later run reads it: the update plan holds back what sits below the failed check
    from assets._shared.updates import plan

    held = plan(defs, instance, config, config.batch_ids).blocked
    assert "preprocessed_text[b001|base-a]" in held and "expectations" in held["preprocessed_text[b001|base-a]"]


def test_review_queue_out_and_reviews_in_through_the_sensor(built):
    config, defs, instance, _ = built
    queue_dir = config.data_dir / "reviews" / "queue" / "b001"
    tasks = json.loads((queue_dir / "tasks.json").read_text())
    assert tasks and all(t["data"]["batch"] == "b001" for t in tasks)
    assert "<Rating" in (queue_dir / "labeling_config.xml").read_text()
    image_ids = [t["data"]["image_id"] for t in tasks[:2]]
    label = config.scenario_data.label_ids[0]

    inbox = config.data_dir / "reviews" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    export = [
        {
            "id": n,
            "data": tasks[n]["data"],
            "annotations": [
                {
                    "id": 100 + n * 10 + r,
                    "completed_by": r,
                    "was_cancelled": False,
                    "result": [
                        {
                            "from_name": "labels",
                            "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [label]},
                        },
                        {
                            "from_name": "relevance",
                            "to_name": "image",
                            "type": "rating",
                            "value": {"rating": 3 + r},
                        },
                    ],
                }
                for r in (1, 2)
            ],
        }
        for n in range(2)
    ]
    (inbox / "label-studio-export.json").write_text(json.dumps(export))
    (inbox / "sheet.csv").write_text(f"image_id,reviewer,labels,relevance\n{image_ids[0]},zoe,not_a_label,9\n")

    sensor = next(s for s in defs.sensors if s.name == "workbench_updates")
    requests = sensor(dg.build_sensor_context(instance=instance, resources=defs.resources)).run_requests
    # new review files: the inbox is read once, not once per batch
    assert ("reviews__unpartitioned", None) in {(r.job_name, r.partition_key) for r in requests}
    assert not any(r.job_name == "reviews__batch" for r in requests)
    inbox_run = dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets("review_inbox"),
    )
    result = dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets("human_reviews", "human_eval_scores", "agreement"),
        partition_key="b001",
    )
    assert inbox_run.success and result.success
    meta = inbox_run.asset_materializations_for_node("review_inbox")[0].metadata
    assert meta["rejected_files"].value == 1 and meta["accepted_files"].value == 1
    report = (inbox / "sheet.csv.rejected.txt").read_text()
    assert "label 'not_a_label' is not in the taxonomy" in report and "rating '9' is outside 1-5" in report

    reviews = pd.read_parquet(config.tables_dir / "human_reviews" / "b001.parquet")
    assert sorted(zip(reviews["image_id"], reviews["reviewer"])) == sorted(
        (i, f"user-{r}") for i in image_ids for r in (1, 2)
    )
    humans = pd.read_parquet(config.tables_dir / "human_eval_scores" / "b001.parquet")
    assert sorted(humans["model"]) == ["base-a", "base-b"] and (humans["n_reviewed"] == 2).all()
    agreement = pd.read_parquet(config.tables_dir / "agreement" / "b001.parquet")
    assert {"models", "humans", "model_vs_humans:base-a"} <= set(agreement["comparison"])

    # Human corrections retrain the baseline: version 2 next to version 1, on the same held-out images.
    before = pd.read_parquet(config.tables_dir / "baseline_versions" / "base-a.parquet")
    assert before["version"].tolist() == [1]
    retrain = dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets("baseline_versions"),
        partition_key="base-a",
    )
    assert retrain.success
    versions = pd.read_parquet(config.tables_dir / "baseline_versions" / "base-a.parquet").set_index("version")
    assert (
        versions.index.tolist() == [1, 2] and versions.loc[2, "trained"] and versions.loc[2, "n_corrections"] == 2
    )
    assert versions.loc[2, "fingerprint"] != versions.loc[1, "fingerprint"]
    assert (
        versions.loc[1, "n_eval"] == versions.loc[2, "n_eval"] == 12 - 2
    )  # reviewed images left the held-out set
    assert versions.loc[2, "verdict_vs_v1"] in {"better", "worse", "no clear difference"}


def test_communities_with_a_summary_model_through_dagster(built, monkeypatch):
    """graph.summaries pointed at a local OpenAI-compatible server: the model's summaries land in the
    table, the metadata counts the calls, and a second materialization is answered from the cache."""
    import yaml

    from tests.fakes.openai_server import OpenAIState, fake_openai_server

    config, _, instance, _ = built
    state = OpenAIState()
    monkeypatch.setenv("WB_E2E_SUMMARY_KEY", "test-key")
    with fake_openai_server(state) as server:
        data = yaml.safe_load(config.source_path.read_text(encoding="utf-8"))
        data["graph"]["summaries"] = {
            "backend": "openai",
            "model": "narrator",
            "base_url": server.url + "/v1",
            "api_key_env": "WB_E2E_SUMMARY_KEY",
            "max_level": 0,
            "min_size": 2,
        }
        path = config.source_path.with_name("workbench.summaries.yaml")
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        defs = build_definitions(load_config(path))
        runs = [
            dg.materialize(
                [*defs.assets, *defs.asset_checks],
                instance=instance,
                resources=defs.resources,
                selection=dg.AssetSelection.assets("communities"),
                partition_key="base-a",
                raise_on_error=False,
            )
            for _ in range(2)
        ]
    assert all(r.success for r in runs)
    assert all(e.passed for r in runs for e in r.get_asset_check_evaluations())
    first, second = (r.asset_materializations_for_node("communities")[0].metadata for r in runs)
    counts = first["summary_calls"].value
    assert counts["asked"] > 0 and counts["written_by_model"] == counts["asked"] == state.calls
    assert second["summary_calls"].value["called"] == 0 and state.calls == counts["asked"]
    cards = pd.read_parquet(next((config.tables_dir / "communities").glob("base-a*")))
    by_model = cards[cards["summary_source"] == "narrator"]
    assert len(by_model) == counts["asked"] and by_model["summary"].str.startswith("These ").all()
    assert ((cards["level"] > 0) | (cards["size"] < 2)).eq(cards["summary_source"] == "template").all()
