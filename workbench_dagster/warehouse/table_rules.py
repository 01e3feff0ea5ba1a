"""What every table must satisfy, as Great Expectations suites; the Dagster checks only run them."""

from __future__ import annotations

import pandas as pd

from workbench_dagster.captioning.rows import CAPTION_COLUMNS
from workbench_dagster.evaluation.agreement import AGREEMENT_COLUMNS
from workbench_dagster.evaluation.drift import DRIFT_COLUMNS
from workbench_dagster.evaluation.scores import (
    COMPARISON_COLUMNS,
    EVAL_COLUMNS,
    HUMAN_EVAL_COLUMNS,
    IMAGE_SCORE_COLUMNS,
    INTERVAL_COLUMNS,
    PER_LABEL_COLUMNS,
)
from workbench_dagster.generation.images import IMAGE_COLUMNS
from workbench_dagster.networks.tables import (
    CENTRALITY_COLUMNS,
    COMMUNITY_COLUMNS,
    DIVERGENCE_COLUMNS,
    EDGE_COLUMNS,
    NETWORK_COMPARISON_COLUMNS,
)
from workbench_dagster.networks.variant_registry import BIPARTITE
from workbench_dagster.reviews.corrections import VERSION_COLUMNS
from workbench_dagster.reviews.inbox import REVIEW_COLUMNS
from workbench_dagster.reviews.queue import CONTENT_FLAGS, QUEUE_COLUMNS
from workbench_dagster.scenario.batches import PROMPT_COLUMNS
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.text.corpus import EMBEDDING_COLUMNS, PREPROCESSED_COLUMNS

COMMENT_COLUMNS = ["comment_id", "image_id", "batch", "lang", "text", "hashtags", "emojis"]
SCORE_COLUMNS = [
    "subset_accuracy",
    "sample_accuracy",
    "precision_micro",
    "recall_micro",
    "f1_micro",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "hamming_loss",
    "caption_cosine",
    "caption_bertscore",
    "f1_micro_ci_low",
    "f1_micro_ci_high",
]


def _suites(config: WorkbenchConfig) -> dict:
    """asset name -> list of (frame transform, expectations, description)."""
    from workbench_dagster.warehouse import expectations as ex

    taxonomy = config.scenario_data.label_ids
    languages = sorted(config.scenario_data.comments.languages)

    def labels_of(column):
        return lambda df: ex.explode_labels(df, column)

    def same(df):
        return df

    return {
        "prompts": [
            (
                same,
                [*ex.schema_expectations(PROMPT_COLUMNS), ex.non_empty(), ex.unique("image_id")],
                "schema, rows, unique ids",
            ),
            (
                labels_of("reference_labels"),
                [ex.in_set("reference_labels", taxonomy)],
                "reference labels inside the taxonomy",
            ),
        ],
        "synthetic_images": [
            (
                same,
                [
                    *ex.schema_expectations(IMAGE_COLUMNS),
                    ex.non_empty(),
                    ex.unique("image_id"),
                    ex.in_set("status", ["ok", "failed"]),
                ],
                "schema, rows, unique ids",
            ),
        ],
        "synthetic_comments": [
            (
                same,
                [*ex.schema_expectations(COMMENT_COLUMNS), ex.unique("comment_id"), ex.in_set("lang", languages)]
                + ([ex.non_empty()] if config.comments.per_image else []),
                "schema, unique ids, languages",
            ),
        ],
        "mllm_captions": [
            (
                same,
                [
                    *ex.schema_expectations(CAPTION_COLUMNS),
                    ex.non_empty(),
                    ex.unique("image_id"),
                    ex.in_set("parse_status", ["ok", "repaired", "invalid", "error"]),
                ],
                "schema, rows, unique ids",
            ),
            (labels_of("labels"), [ex.in_set("labels", taxonomy)], "labels inside the taxonomy"),
        ],
        "preprocessed_text": [
            (same, [*ex.schema_expectations(PREPROCESSED_COLUMNS), ex.unique("text_id")], "schema, unique ids"),
        ],
        "embeddings": [
            (
                same,
                [*ex.schema_expectations(EMBEDDING_COLUMNS), ex.unique("text_id"), ex.in_range("dim", 1, 100_000)],
                "schema, unique ids, dimension",
            ),
        ],
        "eval_scores": [
            (
                same,
                [*ex.schema_expectations(EVAL_COLUMNS), ex.non_empty()]
                + [ex.in_range(c, 0.0, 1.0) for c in SCORE_COLUMNS],
                "schema, rows, scores in [0, 1]",
            ),
        ],
        "image_scores": [
            (
                same,
                [
                    *ex.schema_expectations(IMAGE_SCORE_COLUMNS),
                    ex.unique("image_id"),
                    ex.in_range("jaccard", 0.0, 1.0),
                    ex.in_range("hamming", 0.0, 1.0),
                    ex.in_range("caption_cosine", 0.0, 1.0),
                    ex.in_range("caption_bertscore", 0.0, 1.0),
                ],
                "schema, unique images, scores in [0, 1]",
            ),
            (labels_of("labels"), [ex.in_set("labels", taxonomy)], "predicted labels inside the taxonomy"),
        ],
        "per_label_scores": [
            (
                same,
                [*ex.schema_expectations(PER_LABEL_COLUMNS), ex.unique("label"), ex.in_set("label", taxonomy)]
                + [ex.in_range(c, 0.0, 1.0) for c in ("precision", "recall", "f1")]
                + [ex.in_range(c, 0, None) for c in ("support", "tp", "fp", "fn", "tn")],
                "schema, one row per taxonomy label, counts and scores in range",
            ),
        ],
        "metric_intervals": [
            (
                same,
                [*ex.schema_expectations(INTERVAL_COLUMNS), ex.non_empty(), ex.unique("metric")]
                + [ex.in_range(c, 0.0, 1.0) for c in ("estimate", "ci_low", "ci_high")],
                "schema, one row per metric, intervals in [0, 1]",
            ),
            (
                lambda df: df.assign(width=df["ci_high"] - df["ci_low"]),
                [ex.in_range("width", 0.0, 1.0)],
                "ci_low <= ci_high",
            ),
        ],
        "model_comparisons": [
            (
                lambda df: df.assign(pair=df["other_model"].astype(str) + "/" + df["metric"].astype(str)),
                [
                    *ex.schema_expectations(COMPARISON_COLUMNS),
                    ex.unique("pair"),
                    ex.in_range("difference", -1.0, 1.0),
                    ex.in_range("p_value", 0.0, 1.0),
                    ex.in_set(
                        "verdict", ["better", "worse", "no clear difference", "not scored", "no shared images"]
                    ),
                ],
                "schema, one row per other model and metric, differences in [-1, 1]",
            ),
        ],
        "agreement": [
            (
                lambda df: df.assign(key=df["comparison"].astype(str) + "/" + df["label"].astype(str)),
                [
                    *ex.schema_expectations(AGREEMENT_COLUMNS),
                    ex.unique("key"),
                    ex.in_range("fleiss_kappa", -1.0, 1.0),
                    ex.in_range("krippendorff_alpha", -1.0, 1.0),
                    ex.in_range("percent_agreement", 0.0, 1.0),
                ],
                "schema, one row per comparison and label, statistics in [-1, 1]",
            ),
        ],
        "review_queue": [
            (
                same,
                [
                    *ex.schema_expectations(QUEUE_COLUMNS),
                    ex.unique("image_id"),
                    ex.in_range("priority", 0.0, 1.0),
                    ex.in_range("disagreement", 0.0, 1.0),
                    ex.in_range("baseline_uncertainty", 0.0, 1.0),
                ],
                "schema, unique images, priorities in [0, 1]",
            ),
        ],
        "human_reviews": [
            (
                lambda df: df.assign(key=df["image_id"].astype(str) + "/" + df["reviewer"].astype(str)),
                [
                    *ex.schema_expectations(REVIEW_COLUMNS),
                    ex.unique("key"),
                    ex.not_null("reviewer"),
                    ex.in_range("relevance", 1, 5),
                ],
                "schema, one review per image and reviewer, relevance 1-5",
            ),
            (labels_of("labels"), [ex.in_set("labels", taxonomy)], "labels inside the taxonomy"),
            (
                lambda df: ex.explode_labels(df, "flags"),
                [ex.in_set("flags", CONTENT_FLAGS)],
                "known content flags",
            ),
        ],
        "human_eval_scores": [
            (
                same,
                [*ex.schema_expectations(HUMAN_EVAL_COLUMNS), ex.unique("model")]
                + [
                    ex.in_range(c, 0.0, 1.0)
                    for c in (
                        "subset_accuracy",
                        "f1_micro",
                        "f1_macro",
                        "hamming_loss",
                        "f1_micro_ci_low",
                        "f1_micro_ci_high",
                        "f1_micro_vs_reference",
                    )
                ]
                + [ex.in_range("mean_relevance", 1.0, 5.0)],
                "schema, one row per model, scores in [0, 1]",
            ),
        ],
        "drift": [
            (
                lambda df: df.assign(key=df["model"].astype(str) + "/" + df["kind"].astype(str)),
                [
                    *ex.schema_expectations(DRIFT_COLUMNS),
                    ex.unique("key"),
                    ex.in_range("value", 0.0, 2.0),
                    ex.in_set("kind", ["labels", "embeddings"]),
                ],
                "schema, one row per model and kind, distances in range",
            ),
        ],
        "baseline_versions": [
            (
                same,
                [*ex.schema_expectations(VERSION_COLUMNS), ex.unique("version")]
                + [
                    ex.in_range(c, 0.0, 1.0)
                    for c in ("f1_micro", "f1_micro_ci_low", "f1_micro_ci_high", "f1_macro")
                ]
                + [ex.in_range("difference_vs_v1", -1.0, 1.0)],
                "schema, one row per version, scores in range",
            ),
        ],
        "semantic_graph": [
            (
                lambda df: df.assign(
                    edge=df["variant"].astype(str)
                    + "/"
                    + df["source"].astype(str)
                    + "/"
                    + df["target"].astype(str)
                ),
                [
                    *ex.schema_expectations(EDGE_COLUMNS),
                    ex.unique("edge"),
                    ex.in_range("weight", 0.0, 1.0),
                    ex.in_set("variant", [*config.graph.variants, BIPARTITE]),
                    ex.in_range("label_jaccard", 0.0, 1.0),
                ]
                + [
                    ex.in_range(c, -1.0, 1.0)
                    for c in ("visual_similarity", "caption_similarity", "comment_similarity")
                ],
                "schema, one row per variant and edge, weights in range",
            ),
        ],
        "centrality_table": [
            (
                lambda df: df.assign(
                    key=df["variant"].astype(str)
                    + "/"
                    + df["node_type"].astype(str)
                    + "/"
                    + df["node"].astype(str)
                ),
                [
                    *ex.schema_expectations(CENTRALITY_COLUMNS),
                    ex.non_empty(),
                    ex.unique("key"),
                    ex.in_set("node_type", ["image", "label"]),
                ]
                + [ex.in_range(c, 0.0, 1.0) for c in ("betweenness", "eigenvector", "pagerank", "closeness")],
                "schema, rows, one row per variant and node, scores in [0, 1]",
            ),
        ],
        "communities": [
            (
                lambda df: df.assign(
                    key=df["variant"].astype(str)
                    + "/"
                    + df["level"].astype(str)
                    + "/"
                    + df["community"].astype(str)
                ),
                [
                    *ex.schema_expectations(COMMUNITY_COLUMNS),
                    ex.non_empty(),
                    ex.unique("key"),
                    ex.in_range("size", 1, None),
                    ex.in_range("modularity", -0.5, 1.0),
                ],
                "schema, rows, one row per variant, level and community",
            ),
        ],
        "network_comparison": [
            (
                lambda df: df.assign(
                    pair=df["variant"].astype(str)
                    + "/"
                    + df["model_a"].astype(str)
                    + "/"
                    + df["model_b"].astype(str)
                ),
                [
                    *ex.schema_expectations(NETWORK_COMPARISON_COLUMNS),
                    ex.unique("pair"),
                    ex.in_range("ari", -1.0, 1.0),
                    ex.in_range("nmi", 0.0, 1.0),
                    ex.in_range("top_image_overlap", 0.0, 1.0),
                    ex.in_range("top_label_overlap", 0.0, 1.0),
                ],
                "schema, one row per variant and model pair, scores in range",
            ),
        ],
        "image_divergence": [
            (
                lambda df: df.assign(key=df["variant"].astype(str) + "/" + df["image_id"].astype(str)),
                [
                    *ex.schema_expectations(DIVERGENCE_COLUMNS),
                    ex.unique("key"),
                    ex.in_range("divergence", 0.0, None),
                    ex.in_range("n_models", 2, None),
                ],
                "schema, one row per variant and image, divergence >= 0",
            ),
        ],
    }


def validate_table(config: WorkbenchConfig, asset: str, df: pd.DataFrame) -> tuple[bool, str, dict]:
    """Runs every suite of a table; returns (passed, markdown report, counts of failed expectations)."""
    from workbench_dagster.warehouse.expectations import validate_frame

    passed, parts, failures = True, [], {}
    for transform, expectations, description in _suites(config)[asset]:
        report = validate_frame(transform(df), expectations, f"{asset}: {description}")
        passed &= report.success
        parts.append(f"**{description}**\n\n{report.markdown()}")
        failures[description] = sum(1 for r in report.results if not r["success"])
    return passed, "\n\n".join(parts), failures


def checked_tables(config: WorkbenchConfig) -> list[str]:
    return list(_suites(config))


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
