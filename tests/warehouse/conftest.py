"""The warehouse tests' shared tables: two models over two batches, as Parquet files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_rows as write
from workbench_dagster.evaluation.scores import EVAL_COLUMNS


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    """Two models over two batches; b2 is held out, b1 trains the baseline."""
    root = tmp_path / "tables"
    for batch in ("b1", "b2"):
        write(
            root,
            f"prompts/{batch}.parquet",
            [
                {
                    "image_id": f"{batch}-i1",
                    "batch": batch,
                    "index": 0,
                    "prompt": "p",
                    "spec_json": "{}",
                    "reference_labels": ["cat", "sofa"],
                    "reference_caption": "a cat on a sofa",
                    "seed": 1,
                },
                {
                    "image_id": f"{batch}-i2",
                    "batch": batch,
                    "index": 1,
                    "prompt": "p",
                    "spec_json": "{}",
                    "reference_labels": ["dog"],
                    "reference_caption": "a dog",
                    "seed": 2,
                },
            ],
        )
        write(
            root,
            f"synthetic_images/{batch}.parquet",
            [
                {
                    "image_id": f"{batch}-i{n}",
                    "batch": batch,
                    "sha256": f"h{n}",
                    "uri": f"/img/{batch}-{n}.png",
                    "width": 64,
                    "height": 64,
                    "source": "procedural",
                    "status": "ok",
                    "error": None,
                }
                for n in (1, 2)
            ],
        )
        for model in ("m_good", "m_bad"):
            good = model == "m_good"
            write(
                root,
                f"mllm_captions/{batch}/{model}.parquet",
                [
                    {
                        "image_id": f"{batch}-i1",
                        "batch": batch,
                        "model": model,
                        "backend": "test",
                        "model_kind": "baseline" if good else "api",
                        "labels": ["cat", "sofa"] if good else ["dog"],
                        "label_scores_json": None,
                        "caption": "c",
                        "raw_output": "r",
                        "parse_status": "ok",
                        "error": None,
                        "latency_ms": 10.0,
                        "input_tokens": 5,
                        "output_tokens": 7,
                        "cost_usd": 0.01,
                        "cache_hit": False,
                        "is_training_batch": batch == "b1",
                    },
                    {
                        "image_id": f"{batch}-i2",
                        "batch": batch,
                        "model": model,
                        "backend": "test",
                        "model_kind": "baseline" if good else "api",
                        "labels": ["dog"] if good else [],
                        "label_scores_json": None,
                        "caption": None,
                        "raw_output": "r",
                        "parse_status": "ok" if good else "invalid",
                        "error": None,
                        "latency_ms": 30.0,
                        "input_tokens": 5,
                        "output_tokens": 7,
                        "cost_usd": 0.01,
                        "cache_hit": True,
                        "is_training_batch": batch == "b1",
                    },
                ],
            )
            write(
                root,
                f"eval_scores/{batch}/{model}.parquet",
                [
                    {
                        **dict.fromkeys(EVAL_COLUMNS),  # every registered metric has its column
                        "model": model,
                        "batch": batch,
                        "is_training_batch": batch == "b1",
                        "n_images": 2,
                        "n_scored": 2,
                        "n_failed": 0,
                        "subset_accuracy": 1.0 if good else 0.0,
                        "sample_accuracy": 0.5,
                        "precision_micro": 0.5,
                        "recall_micro": 0.5,
                        "f1_micro": 0.9 if good else 0.1,
                        "precision_macro": 0.5,
                        "recall_macro": 0.5,
                        "f1_macro": 0.5,
                        "hamming_loss": 0.1,
                        "caption_cosine": None,
                    }
                ],
            )
    for model in ("m_good", "m_bad"):
        write(
            root,
            f"centrality_table/{model}.parquet",
            [
                {
                    "model": model,
                    "variant": variant,
                    "node": image,
                    "node_type": "image",
                    "batch": image[:2],
                    "degree": 1,
                    "strength": 1.0,
                    "betweenness": 0.0,
                    "eigenvector": 0.5,
                    "pagerank": 0.25 if variant == "labels_captions" else 0.5,
                    "closeness": 1.0,
                    "community": 0,
                    "hierarchy": [0],
                    "x": 0.0,
                    "y": 0.0,
                }
                for variant in ("labels", "labels_captions")
                for image in ("b1-i1", "b1-i2", "b2-i1", "b2-i2")
            ],
        )
        write(
            root,
            f"communities/{model}.parquet",
            [
                {
                    "model": model,
                    "variant": "labels_captions",
                    "level": level,
                    "community": 0,
                    "parent": None,
                    "size": 4,
                    "modularity": 0.0,
                    "top_labels": ["cat"],
                    "overrepresented_labels": [],
                    "label_lift": [],
                    "keywords": ["cat"],
                    "central_images": ["b1-i1"],
                    "summary": "cats",
                    "summary_source": "template",
                    "summary_error": None,
                }
                for level in (0, 1)
            ],
        )
        good = model == "m_good"
        write(
            root,
            f"metric_intervals/{model}.parquet",
            [
                {
                    "model": model,
                    "metric": metric,
                    "n_images": 2,
                    "n_batches": 1,
                    "estimate": est,
                    "ci_low": est - 0.2,
                    "ci_high": min(est + 0.05, 1.0),
                    "n_boot": 1000,
                    "seed": 1,
                }
                for metric, est in (("f1_micro", 0.9 if good else 0.1), ("f1_macro", 0.5))
            ],
        )
        write(
            root,
            f"model_comparisons/{model}.parquet",
            [
                {
                    "model": model,
                    "other_model": "m_bad" if good else "m_good",
                    "metric": "f1_micro",
                    "n_images": 2,
                    "difference": 0.8 if good else -0.8,
                    "ci_low": 0.6 if good else -0.9,
                    "ci_high": 0.9 if good else -0.6,
                    "p_value": 0.0,
                    "verdict": "better" if good else "worse",
                    "n_boot": 1000,
                    "seed": 1,
                }
            ],
        )
    return root
