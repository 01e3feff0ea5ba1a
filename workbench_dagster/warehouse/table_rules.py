"""What every table must satisfy, as Great Expectations suites; the Dagster checks only run them.

Each table's rules are declared as data (`Table`) and turned into suites in one place, so a rule
reads as a line, not a block of expectation calls. Score ranges come from the metric registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce

import pandas as pd

from workbench_dagster.captioning.answer_flags import CAPTION_FLAGS
from workbench_dagster.captioning.batch_flags import BATCH_FLAG_COLUMNS, BATCH_FLAGS, FAR_STATUSES
from workbench_dagster.captioning.rows import CAPTION_COLUMNS
from workbench_dagster.dataset.balance import BALANCE_COLUMNS
from workbench_dagster.dataset.balance import STATUSES as BALANCE_STATUSES
from workbench_dagster.dataset.quality import DUPLICATE_COLUMNS, HASH_BITS, QUALITY_COLUMNS, SCOPES
from workbench_dagster.dataset.records import MANIFEST_COLUMNS
from workbench_dagster.evaluation.agreement import AGREEMENT_COLUMNS
from workbench_dagster.evaluation.counterfactual import SCORE_COLUMNS as COUNTERFACTUAL_COLUMNS
from workbench_dagster.evaluation.drift import DRIFT_COLUMNS, PROFILE_COLUMNS
from workbench_dagster.evaluation.metric_registry import BY_NAME, RESAMPLED, column_bounds
from workbench_dagster.evaluation.prompt_sensitivity import SENSITIVITY_COLUMNS, VARIANT_COLUMNS
from workbench_dagster.evaluation.scores import (
    COMPARISON_COLUMNS,
    EVAL_COLUMNS,
    HUMAN_EVAL_COLUMNS,
    IMAGE_SCORE_COLUMNS,
    INTERVAL_COLUMNS,
    PER_LABEL_COLUMNS,
)
from workbench_dagster.evaluation.slices import SLICE_COLUMNS
from workbench_dagster.generation.images import IMAGE_COLUMNS
from workbench_dagster.generation.reference_audit import AUDIT_COLUMNS, AUDIT_STATUSES
from workbench_dagster.generation.vocabulary import PRIMITIVES
from workbench_dagster.networks.tables import (
    CENTRALITY_COLUMNS,
    COMMUNITY_COLUMNS,
    DIVERGENCE_COLUMNS,
    EDGE_COLUMNS,
    NETWORK_COMPARISON_COLUMNS,
)
from workbench_dagster.networks.variant_registry import BIPARTITE
from workbench_dagster.provenance.evaluate import EVAL_COLUMNS as DETECTOR_EVAL_COLUMNS
from workbench_dagster.provenance.evaluate import METRICS as DETECTOR_METRICS
from workbench_dagster.provenance.reader import C2PA_STATES, PROVENANCES
from workbench_dagster.provenance.scoring import SCORE_COLUMNS, SPLITS
from workbench_dagster.provenance.scoring import STATUSES as DETECTOR_STATUSES
from workbench_dagster.provenance.table import PROVENANCE_COLUMNS
from workbench_dagster.reviews.corrections import VERSION_COLUMNS
from workbench_dagster.reviews.inbox import REVIEW_COLUMNS
from workbench_dagster.reviews.queue import CONTENT_FLAGS, QUEUE_COLUMNS
from workbench_dagster.scenario.batches import PROMPT_COLUMNS
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.text.corpus import EMBEDDING_COLUMNS, PREPROCESSED_COLUMNS

COMMENT_COLUMNS = ["comment_id", "image_id", "batch", "lang", "text", "hashtags", "emojis"]
UNIT = (0.0, 1.0)
SIGNED = (-1.0, 1.0)


@dataclass(frozen=True)
class Table:
    """One table's rules, declared as data: its columns, the key each row is unique by, and the range
    or set of values a column keeps to. `labels` are list columns whose every entry must be in a set.
    """

    columns: Sequence[str]
    describe: str
    key: tuple[str, ...] = ()
    rows: bool = False
    ranges: Mapping[str, tuple] = field(default_factory=dict)
    sets: Mapping[str, Sequence] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    labels: Mapping[str, tuple[Sequence, str]] = field(default_factory=dict)


def metric_ranges(columns: Sequence[str]) -> dict[str, tuple]:
    """The registry's range for every column named after a metric or its interval."""
    bounds = column_bounds()
    return {c: bounds[c] for c in columns if c in bounds}


def _spans() -> tuple[tuple, tuple]:
    """(range of any resampled metric's estimate, range of a difference between two of them)."""
    low = min(BY_NAME[m].bounds[0] for m in RESAMPLED)
    high = max(BY_NAME[m].bounds[1] for m in RESAMPLED)
    return (low, high), (low - high, high - low)


def _keyed(key: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Several key columns are joined into one `key`, since uniqueness is checked on a single column."""
    if len(key) < 2:
        return lambda df: df
    return lambda df: df.assign(key=reduce(lambda a, b: a + "/" + b, (df[c].astype(str) for c in key)))


def _suites_of(table: Table) -> list:
    """(frame transform, expectations, description) triples: the table itself, then each label column."""
    from workbench_dagster.warehouse import expectations as ex

    unique = [] if not table.key else [ex.unique(table.key[0] if len(table.key) == 1 else "key")]
    checks = [
        *ex.schema_expectations(table.columns),
        *([ex.non_empty()] if table.rows else []),
        *unique,
        *[ex.not_null(c) for c in table.not_null],
        *[ex.in_set(c, values) for c, values in table.sets.items()],
        *[ex.in_range(c, lo, hi) for c, (lo, hi) in table.ranges.items()],
    ]
    suites = [(_keyed(table.key), checks, table.describe)]
    for column, (allowed, describe) in table.labels.items():
        suites.append((lambda df, c=column: ex.explode_labels(df, c), [ex.in_set(column, allowed)], describe))
    return suites


def _generation_tables(config: WorkbenchConfig) -> dict[str, Table]:
    taxonomy = config.scenario_data.label_ids
    return {
        "prompts": Table(
            PROMPT_COLUMNS,
            "schema, rows, unique ids",
            key=("image_id",),
            rows=True,
            labels={"reference_labels": (taxonomy, "reference labels inside the taxonomy")},
        ),
        "synthetic_images": Table(
            IMAGE_COLUMNS,
            "schema, rows, unique ids",
            key=("image_id",),
            rows=True,
            sets={"status": ["ok", "failed"]},
        ),
        "reference_audit": Table(
            AUDIT_COLUMNS,
            "schema, rows, unique ids, statuses, labels inside the taxonomy",
            key=("image_id",),
            rows=True,
            sets={"status": AUDIT_STATUSES},
            labels={
                "reference_labels": (taxonomy, "reference labels inside the taxonomy"),
                "backed_labels": (taxonomy, "backed labels inside the taxonomy"),
                "unbacked_labels": (taxonomy, "unbacked labels inside the taxonomy"),
                "drawn_primitives": (list(PRIMITIVES), "primitives of the painter's vocabulary"),
            },
        ),
        "synthetic_comments": Table(
            COMMENT_COLUMNS,
            "schema, unique ids, languages",
            key=("comment_id",),
            rows=bool(config.comments.per_image),
            sets={"lang": sorted(config.scenario_data.comments.languages)},
        ),
        "mllm_captions": Table(
            CAPTION_COLUMNS,
            "schema, rows, unique ids",
            key=("image_id",),
            rows=True,
            sets={"parse_status": ["ok", "repaired", "invalid", "error"]},
            labels={
                "labels": (taxonomy, "labels inside the taxonomy"),
                "flags": (CAPTION_FLAGS, "known caption flags (captioning/answer_flags.py)"),
            },
        ),
        "caption_flags": Table(
            BATCH_FLAG_COLUMNS,
            "schema, unique (model, image), distance statuses",
            key=("model", "image_id"),
            sets={"far_status": FAR_STATUSES},
            ranges={"similarity_to_others": SIGNED, "others_agreement": SIGNED},
            labels={"flags": (BATCH_FLAGS, "known caption flags (captioning/batch_flags.py)")},
        ),
        "preprocessed_text": Table(PREPROCESSED_COLUMNS, "schema, unique ids", key=("text_id",)),
        "embeddings": Table(
            EMBEDDING_COLUMNS,
            "schema, unique ids, dimension",
            key=("text_id",),
            ranges={"dim": (1, 100_000)},
        ),
    }


def _evaluation_tables(config: WorkbenchConfig) -> dict[str, Table]:
    taxonomy = config.scenario_data.label_ids
    estimate, difference = _spans()
    slices = Table(
        SLICE_COLUMNS,
        "schema, one row per attribute and value, scores and p-values in range, labels inside the taxonomy",
        key=("attribute", "value"),
        not_null=("attribute", "value"),
        sets={"scope": ["batch", "held_out"], "gap_role": ["high", "low"], "correction": ["holm"]},
        ranges={
            **metric_ranges(SLICE_COLUMNS),
            **dict.fromkeys(("attribute_gap", "gap_p_value", "gap_p_adjusted"), UNIT),
            "n_images": (0, None),
        },
        labels={"labels": (taxonomy, "labels inside the taxonomy")},
    )
    return {
        "eval_scores": Table(
            EVAL_COLUMNS, "schema, rows, scores in [0, 1]", rows=True, ranges=metric_ranges(EVAL_COLUMNS)
        ),
        "image_scores": Table(
            IMAGE_SCORE_COLUMNS,
            "schema, unique images, scores in [0, 1]",
            key=("image_id",),
            ranges=dict.fromkeys(("jaccard", "hamming", "caption_cosine", "caption_bertscore"), UNIT),
            labels={"labels": (taxonomy, "predicted labels inside the taxonomy")},
        ),
        "per_label_scores": Table(
            PER_LABEL_COLUMNS,
            "schema, one row per taxonomy label, counts and scores in range",
            key=("label",),
            sets={"label": taxonomy},
            ranges={
                **dict.fromkeys(("precision", "recall", "f1"), UNIT),
                **dict.fromkeys(("support", "tp", "fp", "fn", "tn"), (0, None)),
            },
        ),
        "metric_intervals": Table(
            INTERVAL_COLUMNS,
            "schema, one row per metric, intervals in [0, 1]",
            key=("metric",),
            rows=True,
            ranges=dict.fromkeys(("estimate", "ci_low", "ci_high"), estimate),
        ),
        "model_comparisons": Table(
            COMPARISON_COLUMNS,
            "schema, one row per other model and metric, differences in [-1, 1]",
            key=("other_model", "metric"),
            ranges={"difference": difference, "p_value": UNIT},
            sets={"verdict": ["better", "worse", "no clear difference", "not scored", "no shared images"]},
        ),
        "agreement": Table(
            AGREEMENT_COLUMNS,
            "schema, one row per comparison and label, statistics in [-1, 1]",
            key=("comparison", "label"),
            ranges={"fleiss_kappa": SIGNED, "krippendorff_alpha": SIGNED, "percent_agreement": UNIT},
        ),
        "drift": Table(
            DRIFT_COLUMNS,
            "schema, one row per model and kind, distances in range",
            key=("model", "kind"),
            ranges={"value": (0.0, 2.0)},
            sets={"kind": ["labels", "embeddings"]},
        ),
        "counterfactual_scores": Table(
            COUNTERFACTUAL_COLUMNS,
            "schema, one row per attribute, rates in range",
            key=("attribute",),
            ranges={
                **{c: UNIT for c in COUNTERFACTUAL_COLUMNS if c.startswith(("flip_rate", "recall_o", "recall_c"))},
                **{c: (0.0, 2.0) for c in COUNTERFACTUAL_COLUMNS if c.startswith("caption_shift")},
                **{c: SIGNED for c in COUNTERFACTUAL_COLUMNS if c.startswith("recall_difference")},
            },
        ),
        # per batch and pooled over the held-out batches: the same rows, the same rules
        "slice_scores": slices,
        "held_out_slice_scores": slices,
        "prompt_variant_captions": Table(
            VARIANT_COLUMNS,
            "schema, one row per variant and image, labels inside the taxonomy",
            key=("prompt_variant", "image_id"),
            sets={"parse_status": ["ok", "repaired", "invalid", "error"], "varied": ["prompt", "threshold"]},
            labels={
                "labels": (taxonomy, "labels inside the taxonomy"),
                "flags": (CAPTION_FLAGS, "known caption flags (captioning/answer_flags.py)"),
            },
        ),
        "prompt_sensitivity": Table(
            SENSITIVITY_COLUMNS,
            "schema, rows, one row per variant, scores and alpha in range",
            key=("prompt_variant",),
            rows=True,
            sets={"varied": ["prompt", "threshold"]},
            ranges={
                **{c: UNIT for c in SENSITIVITY_COLUMNS if c.startswith(("f1_", "threshold"))},
                **dict.fromkeys(("krippendorff_alpha", "alpha_ci_low", "alpha_ci_high"), SIGNED),
                **dict.fromkeys(("n_images", "n_failed"), (0, None)),
            },
        ),
        "drift_reference": Table(
            PROFILE_COLUMNS,
            "schema, one profile per model and kind",
            key=("model", "kind"),
            sets={"kind": ["labels", "embeddings"]},
        ),
    }


def _review_tables(config: WorkbenchConfig) -> dict[str, Table]:
    taxonomy = config.scenario_data.label_ids
    reviews = Table(
        REVIEW_COLUMNS,
        "schema, one review per image and reviewer, relevance 1-5",
        key=("image_id", "reviewer"),
        not_null=("reviewer",),
        ranges={"relevance": (1, 5)},
        labels={
            "labels": (taxonomy, "labels inside the taxonomy"),
            "flags": (CONTENT_FLAGS, "known content flags"),
        },
    )
    return {
        "review_queue": Table(
            QUEUE_COLUMNS,
            "schema, unique images, priorities in [0, 1]",
            key=("image_id",),
            ranges=dict.fromkeys(("priority", "disagreement", "baseline_uncertainty"), UNIT),
        ),
        # one batch's rows, and the inbox's of every batch: the same rows, the same rules
        "human_reviews": reviews,
        "review_inbox": reviews,
        "human_eval_scores": Table(
            HUMAN_EVAL_COLUMNS,
            "schema, one row per model, scores in [0, 1]",
            key=("model",),
            ranges={
                **metric_ranges(HUMAN_EVAL_COLUMNS),
                "f1_micro_vs_reference": UNIT,
                "mean_relevance": (1.0, 5.0),
            },
        ),
        "baseline_versions": Table(
            VERSION_COLUMNS,
            "schema, one row per version, scores in range",
            key=("version",),
            ranges={**metric_ranges(VERSION_COLUMNS), "difference_vs_v1": SIGNED},
        ),
    }


def _network_tables(config: WorkbenchConfig) -> dict[str, Table]:
    return {
        "semantic_graph": Table(
            EDGE_COLUMNS,
            "schema, one row per variant and edge, weights in range",
            key=("variant", "source", "target"),
            sets={"variant": [*config.graph.variants, BIPARTITE]},
            ranges={
                "weight": UNIT,
                "label_jaccard": UNIT,
                **dict.fromkeys(("visual_similarity", "caption_similarity", "comment_similarity"), SIGNED),
            },
        ),
        "centrality_table": Table(
            CENTRALITY_COLUMNS,
            "schema, rows, one row per variant and node, scores in [0, 1]",
            key=("variant", "node_type", "node"),
            rows=True,
            sets={"node_type": ["image", "label"]},
            ranges=dict.fromkeys(("betweenness", "eigenvector", "pagerank", "closeness"), UNIT),
        ),
        "communities": Table(
            COMMUNITY_COLUMNS,
            "schema, rows, one row per variant, level and community",
            key=("variant", "level", "community"),
            rows=True,
            ranges={"size": (1, None), "modularity": (-0.5, 1.0)},
        ),
        "network_comparison": Table(
            NETWORK_COMPARISON_COLUMNS,
            "schema, one row per variant and model pair, scores in range",
            key=("variant", "model_a", "model_b"),
            ranges={"ari": SIGNED, **dict.fromkeys(("nmi", "top_image_overlap", "top_label_overlap"), UNIT)},
        ),
        "image_divergence": Table(
            DIVERGENCE_COLUMNS,
            "schema, one row per variant and image, divergence >= 0",
            key=("variant", "image_id"),
            ranges={"divergence": (0.0, None), "n_models": (2, None)},
        ),
    }


def _dataset_tables(config: WorkbenchConfig) -> dict[str, Table]:
    return {
        "image_quality": Table(
            QUALITY_COLUMNS,
            "schema, rows, unique images, measures in range",
            key=("image_id",),
            rows=True,
            sets={"status": ["ok", "failed"]},
            ranges={
                **dict.fromkeys(("brightness", "contrast"), UNIT),
                **dict.fromkeys(("sharpness", "colourfulness", "megapixels"), (0.0, None)),
                "nearest_distance": (0, HASH_BITS),
            },
        ),
        "near_duplicates": Table(
            DUPLICATE_COLUMNS,
            "schema, one row per image pair, distances in bits",
            key=("image_a", "image_b"),
            ranges={"distance": (0, HASH_BITS)},
            sets={"scope": SCOPES},
        ),
        "dataset_balance": Table(
            BALANCE_COLUMNS,
            "schema, rows, one row per attribute and value, shares and distances in [0, 1]",
            key=("attribute", "value"),
            rows=True,
            sets={"status": BALANCE_STATUSES},
            ranges=dict.fromkeys(("observed_share", "target_share", "js_distance", "p_value", "p_adjusted"), UNIT),
        ),
        "dataset_export": Table(MANIFEST_COLUMNS, "schema, rows, unique images", key=("image_id",), rows=True),
    }


def _provenance_tables(config: WorkbenchConfig) -> dict[str, Table]:
    truths = ["generated", "camera"]
    return {
        "image_provenance": Table(
            PROVENANCE_COLUMNS,
            "schema, rows, unique ids, provenance and C2PA states",
            key=("image_id",),
            rows=True,
            not_null=("provenance",),
            sets={"provenance": PROVENANCES, "c2pa_state": C2PA_STATES, "ground_truth": truths},
        ),
        "ai_image_detector": Table(
            SCORE_COLUMNS,
            "schema, rows, unique ids, statuses, scores in [0, 1]",
            key=("image_id",),
            rows=True,
            sets={"status": DETECTOR_STATUSES, "split": SPLITS, "ground_truth": truths},
            ranges={"p_generated": UNIT},
        ),
        "ai_detector_evaluation": Table(
            DETECTOR_EVAL_COLUMNS,
            "schema, one row per metric, rates in [0, 1]",
            key=("metric",),
            rows=True,
            sets={"metric": DETECTOR_METRICS},
            ranges=dict.fromkeys(("estimate", "ci_low", "ci_high"), UNIT),
        ),
    }


def _interval_order():
    """metric_intervals' one rule that is not about a single column."""
    from workbench_dagster.warehouse import expectations as ex

    _, difference = _spans()
    return (
        lambda df: df.assign(width=df["ci_high"] - df["ci_low"]),
        [ex.in_range("width", 0.0, difference[1])],
        "ci_low <= ci_high",
    )


def declared_tables(config: WorkbenchConfig) -> dict[str, Table]:
    """Every checked table's rules; their columns' types are in table_schemas.py, kept equal by a test."""
    tables = {}
    groups = (_generation_tables, _evaluation_tables, _review_tables, _network_tables, _dataset_tables)
    for group in (*groups, _provenance_tables):
        tables |= group(config)
    return tables


def _suites(config: WorkbenchConfig, asset: str) -> list:
    """One table's (frame transform, expectations, description) triples: only that table's, since
    building an expectation imports Great Expectations (seconds) and a check reads one table."""
    suites = _suites_of(declared_tables(config)[asset])
    if asset == "metric_intervals":
        suites.append(_interval_order())
    return suites


def validate_table(config: WorkbenchConfig, asset: str, df: pd.DataFrame) -> tuple[bool, str, dict]:
    """Runs every suite of a table; returns (passed, markdown report, counts of failed expectations)."""
    from workbench_dagster.warehouse.expectations import validate_frame

    passed, parts, failures = True, [], {}
    for transform, expectations, description in _suites(config, asset):
        report = validate_frame(transform(df), expectations, f"{asset}: {description}")
        passed &= report.success
        parts.append(f"**{description}**\n\n{report.markdown()}")
        failures[description] = sum(1 for r in report.results if not r["success"])
    return passed, "\n\n".join(parts), failures


def checked_tables(config: WorkbenchConfig) -> list[str]:
    """The tables with a suite, named without building one: the code location loads without Great
    Expectations, which a run worker imports only when it runs a check."""
    return list(declared_tables(config))


def undecodable_images(images: pd.DataFrame, read) -> list[str]:
    """Rows marked ok whose stored bytes no longer decode: a corrupted store, not a landing mistake."""
    from workbench_dagster.storage.media import decode_image

    bad = []
    for image_id, uri in images.loc[images["status"] == "ok", ["image_id", "uri"]].itertuples(index=False):
        try:
            decode_image(read(uri))
        except (ValueError, OSError) as exc:
            bad.append(f"{image_id}: {exc}")
    return bad
