"""Flags that need every model's captions of a batch: a caption far from the image's other captions.

answer_flags.py flags a caption from its own text, inside one model's partition. An off-task
answer that reads like a description (a model that described another image, or wrote about the
prompt) is only visible against what the other models said of the same image, so it is judged
here, once per batch, over the caption vectors of `embeddings` of every model.

The rule, per image, over the unit caption vectors of the models that captioned it:

- a caption's ``similarity_to_others`` is its mean cosine to each other model's caption;
- ``others_agreement`` is the mean pairwise cosine among those other captions;
- the caption is ``far_from_others`` when ``others_agreement - similarity_to_others >= margin``
  (config `graph.far_from_others_margin`, 0.25 by default).

Relative, not an absolute floor: captions of a hard image may all disagree (every cosine near
0.4 with MiniLM), and none of them is the odd one out; an absolute floor would flag them all.
With three models, the two that agree are never flagged (their own similarity includes the
agreeing pair). It needs captions by at least three models of the image (two others to agree
with each other): with fewer, a row is ``too_few_other_captions`` and not judged. A robust
z-score was rejected: over three or four values it is noise. Captions already flagged from
their text still count among the others: a flag is a warning, not a verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.captioning.answer_flags import CAPTION_FLAGS

FAR_FROM_OTHERS = "far_from_others"
BATCH_FLAGS = (*CAPTION_FLAGS, FAR_FROM_OTHERS)  # every flag a caption_flags row may carry
MIN_OTHER_CAPTIONS = 2
DEFAULT_MARGIN = 0.25
# Bump when the rule or the row layout changes: the asset's code version names it.
BATCH_FLAGS_VERSION = "caption-batch-flags-v1"

JUDGED = "judged"
TOO_FEW = "too_few_other_captions"
NO_CAPTION = "no_caption_vector"
FAR_STATUSES = (JUDGED, TOO_FEW, NO_CAPTION)

BATCH_FLAG_COLUMNS = [
    "image_id",
    "batch",
    "model",
    "flags",
    "similarity_to_others",
    "others_agreement",
    "n_other_captions",
    "far_status",
]


def far_from_others(vectors: dict[str, np.ndarray], margin: float = DEFAULT_MARGIN) -> dict[str, dict]:
    """Per model of one image: its similarity to the others, the others' agreement, and `far`.

    `vectors` maps model -> caption vector (any length, not necessarily unit). A model whose
    image has fewer than MIN_OTHER_CAPTIONS other captions gets NaNs, `far` False and the status
    TOO_FEW, so a reader sees it was not judged rather than judged clean."""
    models = sorted(vectors)
    if not models:
        return {}
    unit = np.stack([np.asarray(vectors[m], dtype=np.float64) for m in models])
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
    cos = np.clip(unit @ unit.T, -1.0, 1.0)  # rounding may step past 1 for equal vectors
    n = len(models)
    out = {}
    for i, model in enumerate(models):
        others = [j for j in range(n) if j != i]
        if len(others) < MIN_OTHER_CAPTIONS:
            out[model] = {"similarity": np.nan, "agreement": np.nan, "n_others": len(others), "status": TOO_FEW}
            out[model]["far"] = False
            continue
        similarity = float(cos[i, others].mean())
        pairs = [cos[a, b] for k, a in enumerate(others) for b in others[k + 1 :]]
        agreement = float(np.mean(pairs))
        out[model] = {
            "similarity": similarity,
            "agreement": agreement,
            "n_others": len(others),
            "status": JUDGED,
            "far": agreement - similarity >= margin,
        }
    return out


def _caption_vectors(embeddings: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """image_id -> model -> caption vector, from `embeddings` rows of source 'caption'."""
    missing = [c for c in ("image_id", "model", "source", "vector") if c not in embeddings.columns]
    if missing:
        raise ValueError(f"embeddings lacks column(s) {missing}: caption_flags needs the caption vectors")
    captions = embeddings[embeddings["source"] == "caption"]
    by_image: dict[str, dict[str, np.ndarray]] = {}
    for image_id, model, vector in captions[["image_id", "model", "vector"]].itertuples(index=False):
        by_image.setdefault(image_id, {})[model] = np.asarray(vector)
    return by_image


def batch_flag_table(
    captions: pd.DataFrame, embeddings: pd.DataFrame, margin: float = DEFAULT_MARGIN
) -> pd.DataFrame:
    """One row per caption row (model, image_id) of a batch's every model, with the union of its row
    flags (mllm_captions.flags) and far_from_others, and the figures the rule read."""
    if "flags" not in captions.columns:
        raise ValueError("mllm_captions lacks column 'flags' (captioning/answer_flags.py): rematerialize it")
    judged = {image: far_from_others(vectors, margin) for image, vectors in _caption_vectors(embeddings).items()}
    rows = []
    for image_id, batch, model, flags in captions[["image_id", "batch", "model", "flags"]].itertuples(index=False):
        flags = list(flags) if flags is not None else []
        verdict = judged.get(image_id, {}).get(model)
        if verdict is None:
            n_others = len(judged.get(image_id, {}))
            verdict = {"similarity": np.nan, "agreement": np.nan, "n_others": n_others, "status": NO_CAPTION}
            verdict["far"] = False
        if verdict["far"] and FAR_FROM_OTHERS not in flags:
            flags.append(FAR_FROM_OTHERS)
        rows.append(
            [
                image_id,
                batch,
                model,
                flags,
                verdict["similarity"],
                verdict["agreement"],
                int(verdict["n_others"]),
                verdict["status"],
            ]
        )
    out = pd.DataFrame(rows, columns=BATCH_FLAG_COLUMNS)
    return out.sort_values(["model", "image_id"], ignore_index=True)


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many rows were judged, had too few other captions, or had no caption vector (zeros included)."""
    counts = table["far_status"].value_counts().to_dict() if len(table) else {}
    return {status: int(counts.get(status, 0)) for status in FAR_STATUSES}


def with_batch_flags(captions: pd.DataFrame, batch_flags: pd.DataFrame) -> pd.DataFrame:
    """`captions` (mllm_captions rows of any models and batches) with `flags` replaced by caption_flags'
    union where caption_flags has the row; a row it lacks (its batch not yet flagged) keeps its own."""
    if batch_flags is None or batch_flags.empty:
        return captions
    union = {(m, i): list(f) for m, i, f in batch_flags[["model", "image_id", "flags"]].itertuples(index=False)}
    own = (
        captions["flags"] if "flags" in captions.columns else pd.Series([[]] * len(captions), index=captions.index)
    )
    flags = [
        union.get((m, i), list(f) if f is not None else [])
        for m, i, f in zip(captions["model"], captions["image_id"], own)
    ]
    return captions.assign(flags=flags)
