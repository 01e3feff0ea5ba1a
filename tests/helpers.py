"""Builders shared by the tests: a tiny config, real PNG bytes, the caption loop with its usual arguments,
an offline tokenizer for tiny local models, planted corpora and reference centralities.

One module, imported one way (`from tests.helpers import ...`); fixtures live in conftest.py and use these.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import yaml
from PIL import Image

from workbench_dagster.captioning.caption_loop import LoopStats, caption_with_backend
from workbench_dagster.captioning.parsing import PROMPT_VERSION, render_caption_prompt
from workbench_dagster.captioning.rows import ImageInput
from workbench_dagster.scenario.config import GraphConfig

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_FILE = ROOT / "scenarios" / "atropia.yaml"
TAXONOMY = [f"lab{i}" for i in range(12)]
SETTINGS = GraphConfig(k=8, min_similarity=0.0, max_cluster_size=20)

# Four images scored by hand in tests/evaluation. Binarised over (a, b, c):
#   true  [1,1,0] [0,0,1] [0,0,0] [1,0,0]
#   pred  [1,0,0] [0,1,1] [0,0,0] [0,1,1]
HAND_LABELS = ["a", "b", "c"]
HAND_TRUE = [["a", "b"], ["c"], [], ["a"]]
HAND_PRED = [["a"], ["c", "b"], [], ["b", "c"]]

# The pipeline's main tables, in graph order: each an asset and a warehouse table.
PIPELINE_TABLES = (
    "prompts",
    "synthetic_images",
    "synthetic_comments",
    "mllm_captions",
    "preprocessed_text",
    "embeddings",
    "eval_scores",
    "semantic_graph",
    "centrality_table",
    "communities",
)


def write_config(folder: Path, **overrides) -> Path:
    shutil.copy(ROOT / "scenarios" / "atropia.yaml", folder / "atropia.yaml")
    config = {
        "scenario": "atropia.yaml",
        "seed": 11,
        "data_dir": "data",
        "warehouse": "data/warehouse.duckdb",
        "landing_dir": "data/landing",
        "batches": [{"id": "train", "n_images": 48}, {"id": "b001", "n_images": 12}],
        "images": {"backend": "procedural", "width": 160, "height": 120},
        "comments": {"backend": "template", "per_image": 2},
        "baseline": {"train_batch": "train", "image_size": 32, "threshold": 0.5},
        "models": [
            {"id": "base-a", "backend": "baseline", "params": {"channels": 8, "epochs": 3}},
            {"id": "base-b", "backend": "baseline", "params": {"channels": 8, "epochs": 2, "lr": 0.01}},
        ],
        "graph": {"k": 5, "min_similarity": 0.1},
    }
    config.update(overrides)
    path = folder / "workbench.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def write_api_config(folder: Path, model: dict, n_images: int) -> Path:
    """A config with a small training batch, one batch `b001` of `n_images`, a one-epoch baseline
    `base-a`, and `model` (an API model: id, backend, model, base_url, api_key_env, ...)."""
    return write_config(
        folder,
        batches=[{"id": "train", "n_images": 8}, {"id": "b001", "n_images": n_images}],
        models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}, model],
    )


IDS = ["protest", "signs_banners", "small_group", "flyer_es", "solidarity"]
NAMES = {
    "protest": "protest",
    "signs_banners": "signs or banners",
    "small_group": "small group of people",
    "flyer_es": "digital flyer in Spanish",
    "solidarity": "solidarity",
}


def png(i: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256)).save(buffer, format="PNG")
    return buffer.getvalue()


def images(n: int, batch: str = "b001") -> list[ImageInput]:
    out = []
    for i in range(n):
        data = png(i)
        out.append(ImageInput(f"{batch}-{i:03d}", batch, hashlib.sha256(data).hexdigest(), data))
    return out


def caption_rows(
    backend, imgs, cache, labels=IDS, names=NAMES, *, prompt=None, prompt_version=PROMPT_VERSION, **options
):
    """`caption_with_backend` with the real caption prompt unless `prompt` is given;
    returns (rows, images called, LoopStats)."""
    stats = LoopStats()
    rows, n_called = caption_with_backend(
        backend=backend,
        images=imgs,
        prompt=render_caption_prompt(labels, names) if prompt is None else prompt,
        prompt_version=prompt_version,
        labels=labels,
        label_names=names,
        cache=cache,
        stats=stats,
        **options,
    )
    return rows, n_called, stats


def byte_level_tokenizer(corpus: list[str], vocab_size: int, special_tokens: list[str], **tokenizer_options):
    """A byte-level BPE tokenizer trained on `corpus`, so tiny local models are built without the hub."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, **tokenizer_options)


def reference_centrality(G):
    H = G.copy()
    for _, _, d in H.edges(data=True):
        d["distance"] = 1 / d["weight"]
    return {
        "degree": dict(H.degree()),
        "strength": dict(H.degree(weight="weight")),
        "betweenness": nx.betweenness_centrality(H, weight="distance"),
        "eigenvector": nx.eigenvector_centrality_numpy(H, weight="weight"),
        "pagerank": nx.pagerank(H, weight="weight"),
        "closeness": nx.closeness_centrality(H, distance="distance"),
    }


def planted_clusters(seed=0, per_cluster=50, n_clusters=4, dim=384):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, dim))
    truth = np.repeat(np.arange(n_clusters), per_cluster)
    return centers[truth] + 0.6 * rng.normal(size=(len(truth), dim)), truth


def planted_corpus(per_cluster=40, n_clusters=4, seed=0, dim=64):
    """Captions, embeddings and visual features whose every layer carries the same planted clusters."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_clusters), per_cluster)
    ids = [f"b{i % 2}-img{i:03d}" for i in range(len(truth))]

    def layer():
        centers = rng.normal(size=(n_clusters, dim))
        return centers[truth] + 0.7 * rng.normal(size=(len(truth), dim))

    caption, visual = layer(), layer()
    comments = [layer() for _ in range(2)]
    labels = [
        [TAXONOMY[3 * c], TAXONOMY[3 * c + 1]] + ([TAXONOMY[3 * c + 2]] if rng.random() < 0.5 else [])
        for c in truth
    ]
    captions = pd.DataFrame(
        {"image_id": ids, "batch": [i.split("-")[0] for i in ids], "labels": labels, "parse_status": "ok"}
    )
    rows = [{"image_id": i, "source": "caption", "vector": caption[n]} for n, i in enumerate(ids)]
    rows += [{"image_id": i, "source": "comment", "vector": c[n]} for c in comments for n, i in enumerate(ids)]
    texts = pd.DataFrame(
        {
            "image_id": ids,
            "source": "caption",
            "lemmas": [f"{['march', 'beach', 'market', 'flood'][c % 4]} people" for c in truth],
        }
    )
    return captions, pd.DataFrame(rows), dict(zip(ids, visual)), truth, texts


def write_rows(tables: Path, relative: str, rows: list[dict]) -> None:
    """A Parquet table file of the given rows, as the IO manager lays them out."""
    path = tables / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)


def write_sql(sql_dir: Path, name: str, sql: str) -> Path:
    sql_dir.mkdir(parents=True, exist_ok=True)
    path = sql_dir / f"{name}.sql"
    path.write_text(sql, encoding="utf-8")
    return path


def materialize_selected(defs, instance, assets: list[str], partition_key=None, raise_on_error: bool = False):
    """A real Dagster run of the named assets (with every check of them) of one partition."""
    import dagster as dg

    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets(*assets),
        partition_key=partition_key,
        raise_on_error=raise_on_error,
    )


def count_detector_calls(monkeypatch) -> list[list[str]]:
    """Every call of the language detector from now on, with the texts it was given (it still detects)."""
    from workbench_dagster.text import preprocessing

    calls: list[list[str]] = []
    real = preprocessing.detect_languages

    def counted(texts, languages):
        calls.append(list(texts))
        return real(texts, languages)

    monkeypatch.setattr(preprocessing, "detect_languages", counted)
    return calls
