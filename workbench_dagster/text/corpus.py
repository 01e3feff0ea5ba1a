"""The texts of a model x batch partition: captions, label sets, comments and reference captions.

Each gets a stable `text_id`, so embeddings, graphs and the warehouse join on it.
"""

from __future__ import annotations

import pandas as pd

TEXT_COLUMNS = ["text_id", "image_id", "batch", "model", "source", "text"]
PREPROCESSED_COLUMNS = TEXT_COLUMNS + ["clean_text", "lemmas", "lang"]
EMBEDDING_COLUMNS = ["text_id", "image_id", "batch", "model", "source", "embedder", "dim", "vector"]


def label_text(labels, label_names: dict[str, str]) -> str:
    return ", ".join(label_names.get(label, label) for label in labels)


def collect_texts(
    model: str, captions: pd.DataFrame, comments: pd.DataFrame, prompts: pd.DataFrame, label_names: dict[str, str]
) -> pd.DataFrame:
    rows = []
    for r in captions.to_dict("records"):
        if r["parse_status"] in ("invalid", "error"):
            continue
        if r["caption"]:
            rows.append(
                {
                    "text_id": f"{r['image_id']}:caption",
                    "image_id": r["image_id"],
                    "batch": r["batch"],
                    "source": "caption",
                    "text": r["caption"],
                }
            )
        rows.append(
            {
                "text_id": f"{r['image_id']}:labels",
                "image_id": r["image_id"],
                "batch": r["batch"],
                "source": "labels",
                "text": label_text(r["labels"], label_names),
            }
        )
    for r in comments.to_dict("records"):
        rows.append(
            {
                "text_id": r["comment_id"],
                "image_id": r["image_id"],
                "batch": r["batch"],
                "source": "comment",
                "text": r["text"],
            }
        )
    for r in prompts.to_dict("records"):
        if r.get("reference_caption"):
            rows.append(
                {
                    "text_id": f"{r['image_id']}:reference",
                    "image_id": r["image_id"],
                    "batch": r["batch"],
                    "source": "reference",
                    "text": r["reference_caption"],
                }
            )
    df = pd.DataFrame(rows, columns=[c for c in TEXT_COLUMNS if c != "model"])
    df.insert(3, "model", model)
    return df


def preprocess_texts(texts: pd.DataFrame, languages: tuple[str, ...], cache=None) -> tuple[pd.DataFrame, int]:
    """Returns the preprocessed texts and how many were preprocessed (cache misses): a text already seen
    with the same language set and preprocessing version costs no language detection."""
    from workbench_dagster.captioning.call_cache import cached_per_text
    from workbench_dagster.text.preprocessing import PREPROCESS_VERSION, preprocess_many

    def compute(batch: list[str]) -> list[dict]:
        return [
            {"clean_text": p["clean_text"], "lemmas": p["lemmas"], "lang": p["lang"]}
            for p in preprocess_many(batch, languages)
        ]

    recipe = f"{PREPROCESS_VERSION}|{','.join(sorted(languages))}"
    processed, n_computed = cached_per_text(cache, recipe, [t or "" for t in texts["text"]], compute)
    out = texts.copy()
    for column in ("clean_text", "lemmas", "lang"):
        out[column] = [p[column] for p in processed]
    return out[PREPROCESSED_COLUMNS], n_computed


def embed_texts(
    texts: pd.DataFrame, embedder, embedder_name: str, batch_size: int, cache=None
) -> tuple[pd.DataFrame, int]:
    """Returns the embeddings and how many texts the model actually encoded (cache misses)."""
    import numpy as np

    keys = [cache.key(embedder_name, t) for t in texts["text"]] if cache else []
    hits = cache.get_many(keys) if cache else {}
    found = [hits.get(k) for k in keys] if cache else [None] * len(texts)
    missing = [i for i, v in enumerate(found) if v is None]
    fresh = embedder.encode([texts["text"].iloc[i] for i in missing], batch_size=batch_size) if missing else []
    for i, vector in zip(missing, fresh):
        found[i] = vector
    if cache and missing:
        cache.put_many({keys[i]: found[i] for i in missing[: len(fresh)]})
    vectors = np.stack(found) if found else np.zeros((0, 0), dtype=np.float32)
    out = texts[["text_id", "image_id", "batch", "model", "source"]].copy()
    out["embedder"] = embedder_name
    out["dim"] = vectors.shape[1] if vectors.ndim == 2 else 0
    out["vector"] = [v.astype("float32").tolist() for v in vectors]
    return out[EMBEDDING_COLUMNS], len(missing)
