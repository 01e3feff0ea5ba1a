"""How much a model's answer moves when one attribute of the picture changes and nothing else.

A counterfactual batch (generation/counterfactual.py) holds pairs: an original and its redraw with
one attribute changed. Per model and attribute, over the pairs whose both captions did not fail:

- `flip_rate`: the share of pairs whose predicted label set changed, among the pairs whose reference
  labels did not (any flip there is the attribute's doing, not the picture's content);
- `recall_difference`: micro recall on the counterfactuals minus on their originals, each against its
  own reference (negative: the change costs the model labels it found before);
- `caption_shift`: one minus the cosine of the two captions' embeddings (0: the same meaning), also
  where the reference did not change, so a caption that rightly follows a changed label is no shift.

Each has a seeded bootstrap 95% interval that resamples pairs (both sides of a pair together, so
the image-difficulty variance both share cancels), and an attribute with fewer than `min_pairs`
scored pairs reports its counts and no rate.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from workbench_dagster.evaluation.bootstrap import N_BOOT, _percentiles, bootstrap_weights, derived_seed
from workbench_dagster.evaluation.metrics import rowwise_cosine

DEFAULT_MIN_PAIRS = 5
FAILED = ("invalid", "error")
RATES = ("flip_rate", "recall_difference", "caption_shift")
SCORE_COLUMNS = [
    "model",
    "batch",
    "attribute",
    "n_pairs",
    "n_scored",
    "n_failed",
    "n_reference_unchanged",
    "n_flipped",
    "flip_rate",
    "flip_rate_ci_low",
    "flip_rate_ci_high",
    "recall_original",
    "recall_counterfactual",
    "recall_difference",
    "recall_difference_ci_low",
    "recall_difference_ci_high",
    "caption_shift",
    "caption_shift_ci_low",
    "caption_shift_ci_high",
    "most_flipped",
    "note",
    "n_boot",
    "seed",
]


def _caption_vectors(embeddings: pd.DataFrame) -> dict[str, np.ndarray]:
    part = embeddings[embeddings["source"] == "caption"] if len(embeddings) else embeddings
    return {i: np.asarray(v, dtype=float) for i, v in zip(part.get("image_id", []), part.get("vector", []))}


def pair_outcomes(prompts: pd.DataFrame, captions: pd.DataFrame, embeddings: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of the batch: both sides' references and labels, whether the pair is scored (both
    captions did not fail), flipped labels and the caption cosine (NaN where a caption has no vector)."""
    if "cf_role" not in prompts or not (prompts["cf_role"] == "counterfactual").any():
        return pd.DataFrame()
    refs = dict(zip(prompts["image_id"], prompts["reference_labels"]))
    answers = {
        r["image_id"]: (None if r["parse_status"] in FAILED else sorted(r["labels"]))
        for r in captions.to_dict("records")
    }
    vectors = _caption_vectors(embeddings)
    rows = []
    for r in prompts[prompts["cf_role"] == "counterfactual"].to_dict("records"):
        o, c = r["original_image_id"], r["image_id"]
        ref_o, ref_c = sorted(refs[o]), sorted(r["reference_labels"])
        lab_o, lab_c = answers.get(o), answers.get(c)
        scored = lab_o is not None and lab_c is not None
        cosine = np.nan
        if scored and o in vectors and c in vectors:
            cosine = float(np.clip(rowwise_cosine(vectors[o], vectors[c])[0], -1.0, 1.0))
        flipped = sorted(set(lab_o) ^ set(lab_c)) if scored else []
        rows.append(
            {
                "pair_id": r["pair_id"],
                "attribute": r["cf_attribute"],
                "original_image_id": o,
                "image_id": c,
                "scored": scored,
                "reference_unchanged": ref_o == ref_c,
                "flipped": bool(flipped),
                "flipped_labels": flipped,
                "tp_original": len(set(ref_o) & set(lab_o or [])),
                "n_reference_original": len(ref_o),
                "tp_counterfactual": len(set(ref_c) & set(lab_c or [])),
                "n_reference_counterfactual": len(ref_c),
                "caption_cosine": cosine,
            }
        )
    return pd.DataFrame(rows)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _statistics(pairs: pd.DataFrame, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each rate under each row of image weights (one row of ones is the point estimate)."""
    unchanged = pairs["reference_unchanged"].to_numpy(bool)
    flipped = pairs["flipped"].to_numpy(float)
    has_cos = pairs["caption_cosine"].notna().to_numpy() & unchanged
    shift = np.nan_to_num(1.0 - pairs["caption_cosine"].to_numpy(float))
    recall_o = _ratio(
        weights @ pairs["tp_original"].to_numpy(float), weights @ pairs["n_reference_original"].to_numpy(float)
    )
    recall_c = _ratio(
        weights @ pairs["tp_counterfactual"].to_numpy(float),
        weights @ pairs["n_reference_counterfactual"].to_numpy(float),
    )
    return {
        "flip_rate": _ratio(weights @ (flipped * unchanged), weights @ unchanged.astype(float)),
        "recall_original": recall_o,
        "recall_counterfactual": recall_c,
        "recall_difference": recall_c - recall_o,
        "caption_shift": _ratio(weights @ (shift * has_cos), weights @ has_cos.astype(float)),
    }


def _value(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def _attribute_row(pairs: pd.DataFrame, min_pairs: int, n_boot: int, seed: int) -> dict:
    scored = pairs[pairs["scored"]]
    unchanged = scored[scored["reference_unchanged"]]
    row = {
        "n_pairs": len(pairs),
        "n_scored": len(scored),
        "n_failed": len(pairs) - len(scored),
        "n_reference_unchanged": len(unchanged),
        "n_flipped": int(unchanged["flipped"].sum()),
        "most_flipped": ", ".join(
            f"{label}: {n}"
            for label, n in Counter(x for f in unchanged["flipped_labels"] for x in f).most_common(3)
        ),
        "note": None,
        **dict.fromkeys(c for c in SCORE_COLUMNS if c.startswith(("flip_rate", "recall_", "caption_shift"))),
    }
    if len(scored) < min_pairs:
        return {**row, "note": f"fewer than {min_pairs} scored pairs: counts only, no rate"}
    point = _statistics(scored, np.ones((1, len(scored))))
    boot = _statistics(scored, bootstrap_weights(len(scored), n_boot, seed))
    for name, values in point.items():
        row[name] = _value(values[0])
        if name in RATES and row[name] is not None:
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = _percentiles(boot[name])
    return row


def counterfactual_scores(
    model: str,
    batch: str,
    prompts: pd.DataFrame,
    captions: pd.DataFrame,
    embeddings: pd.DataFrame,
    min_pairs: int = DEFAULT_MIN_PAIRS,
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> pd.DataFrame:
    """One row per attribute the batch changes (none for a batch without pairs)."""
    pairs = pair_outcomes(prompts, captions, embeddings)
    if pairs.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    rows = []
    for attribute, part in pairs.groupby("attribute", sort=True):
        run_seed = derived_seed(seed, "counterfactual", model, batch, attribute)
        stats = _attribute_row(part, min_pairs, n_boot, run_seed)
        rows.append(
            {"model": model, "batch": batch, "attribute": attribute, **stats, "n_boot": n_boot, "seed": run_seed}
        )
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def flip_rate_chart(scores: pd.DataFrame, title: str):
    """Flip rate per attribute with its interval: which change moves the model's labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rated = scores[scores["flip_rate"].notna()].sort_values("flip_rate")
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * max(len(scores), 1)))
    if len(rated):
        y = np.arange(len(rated))
        rate = rated["flip_rate"].to_numpy(float)
        low = np.nan_to_num(rate - rated["flip_rate_ci_low"].to_numpy(float))
        high = np.nan_to_num(rated["flip_rate_ci_high"].to_numpy(float) - rate)
        ax.barh(y, rate, xerr=[low, high], color="#7b2d8e", capsize=3)
        ax.set_yticks(y, [f"{a} (n={n})" for a, n in zip(rated["attribute"], rated["n_reference_unchanged"])])
    else:
        ax.text(0.5, 0.5, "no attribute with enough pairs", ha="center", va="center")
    ax.set_xlim(0, 1)
    ax.set_xlabel("label flip rate where the reference did not change (95% interval)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
