"""What every table must satisfy, as Great Expectations suites; the Dagster checks only run them."""

from __future__ import annotations

import pandas as pd

from workbench_dagster.batches import PROMPT_COLUMNS
from workbench_dagster.captioning import CAPTION_COLUMNS
from workbench_dagster.config import WorkbenchConfig
from workbench_dagster.corpus_text import EMBEDDING_COLUMNS, PREPROCESSED_COLUMNS
from workbench_dagster.evaluation import EVAL_COLUMNS
from workbench_dagster.images import IMAGE_COLUMNS
from workbench_dagster.networks import CENTRALITY_COLUMNS, COMMUNITY_COLUMNS, EDGE_COLUMNS

COMMENT_COLUMNS = ["comment_id", "image_id", "batch", "lang", "text", "hashtags", "emojis"]
SCORE_COLUMNS = ["subset_accuracy", "sample_accuracy", "precision_micro", "recall_micro", "f1_micro", "precision_macro",
                 "recall_macro", "f1_macro", "hamming_loss", "caption_cosine"]


def _suites(config: WorkbenchConfig) -> dict:
    """asset name -> list of (frame transform, expectations, description)."""
    from workbench_dagster import expectations as ex

    taxonomy = config.scenario_data.label_ids
    languages = sorted(config.scenario_data.comments.languages)

    def labels_of(column):
        return lambda df: ex.explode_labels(df, column)

    def same(df):
        return df

    return {
        "prompts": [
            (same, [*ex.schema_expectations(PROMPT_COLUMNS), ex.non_empty(), ex.unique("image_id")], "schema, rows, unique ids"),
            (labels_of("reference_labels"), [ex.in_set("reference_labels", taxonomy)], "reference labels inside the taxonomy"),
        ],
        "synthetic_images": [
            (same, [*ex.schema_expectations(IMAGE_COLUMNS), ex.non_empty(), ex.unique("image_id"),
                    ex.in_set("status", ["ok", "failed"])], "schema, rows, unique ids"),
        ],
        "synthetic_comments": [
            (same, [*ex.schema_expectations(COMMENT_COLUMNS), ex.unique("comment_id"), ex.in_set("lang", languages)]
             + ([ex.non_empty()] if config.comments.per_image else []), "schema, unique ids, languages"),
        ],
        "mllm_captions": [
            (same, [*ex.schema_expectations(CAPTION_COLUMNS), ex.non_empty(), ex.unique("image_id"),
                    ex.in_set("parse_status", ["ok", "repaired", "invalid", "error"])], "schema, rows, unique ids"),
            (labels_of("labels"), [ex.in_set("labels", taxonomy)], "labels inside the taxonomy"),
        ],
        "preprocessed_text": [
            (same, [*ex.schema_expectations(PREPROCESSED_COLUMNS), ex.unique("text_id")], "schema, unique ids"),
        ],
        "embeddings": [
            (same, [*ex.schema_expectations(EMBEDDING_COLUMNS), ex.unique("text_id"), ex.in_range("dim", 1, 100_000)],
             "schema, unique ids, dimension"),
        ],
        "eval_scores": [
            (same, [*ex.schema_expectations(EVAL_COLUMNS), ex.non_empty()] + [ex.in_range(c, 0.0, 1.0) for c in SCORE_COLUMNS],
             "schema, rows, scores in [0, 1]"),
        ],
        "semantic_graph": [
            (same, [*ex.schema_expectations(EDGE_COLUMNS), ex.in_range("weight", 0.0, 1.0),
                    ex.in_range("caption_similarity", -1.0, 1.0), ex.in_range("label_jaccard", 0.0, 1.0)],
             "schema, weights in range"),
        ],
        "centrality_table": [
            (same, [*ex.schema_expectations(CENTRALITY_COLUMNS), ex.non_empty(), ex.unique("node")]
             + [ex.in_range(c, 0.0, 1.0) for c in ("betweenness", "eigenvector", "pagerank", "closeness")],
             "schema, rows, unique nodes, scores in [0, 1]"),
        ],
        "communities": [
            (same, [*ex.schema_expectations(COMMUNITY_COLUMNS), ex.non_empty(), ex.unique("community")],
             "schema, rows, unique communities"),
        ],
    }


def validate_table(config: WorkbenchConfig, asset: str, df: pd.DataFrame) -> tuple[bool, str, dict]:
    """Runs every suite of a table; returns (passed, markdown report, counts of failed expectations)."""
    from workbench_dagster.expectations import validate_frame

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
    from workbench_dagster.procedural import decode_image

    bad = []
    for image_id, uri in images.loc[images["status"] == "ok", ["image_id", "uri"]].itertuples(index=False):
        try:
            decode_image(read(uri))
        except (ValueError, OSError) as exc:
            bad.append(f"{image_id}: {exc}")
    return bad
