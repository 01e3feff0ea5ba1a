"""Prompt sensitivity: does a model label the same images the same way when it is asked another way?

A model's `prompt_variants` (workbench.yaml) are rewordings of the labelling instruction, possibly in
the scenario's other languages. Each variant's captions come from the same caption loop and call cache
as the model's own captions (the rendered prompt is part of the cache key, so each variant is asked
once); the model's own prompt is the variant `default`, and its captions are `mllm_captions`' rows.

The baseline reads no prompt. Giving it reworded prompts would return the same labels every time
and report a perfect agreement that means nothing, so its variants set the decision threshold
instead, and the table says so (`varied = threshold`): how much its labels move when it is asked to
be more or less eager, the one thing about "how it is asked" a classifier has.

Per model, over its held-out batches (counterfactual redraws left out, as they repeat images), on
the images every variant answered:

- each variant's micro F1 with a seeded bootstrap 95% interval;
- Krippendorff's alpha (nominal) with the variants as raters and every (image, label) pair as a
  yes/no unit: 1 when the wording never changes a label, near 0 when the labels follow the wording
  rather than the image;
- the spread of F1 (best minus worst variant) and the mean F1 over the variants.

Every interval resamples images, all variants on the same resamples (paired), and the alpha of a
resample is computed from per-image sums, so 1,000 resamples cost one matrix product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench_dagster.captioning.rows import CAPTION_COLUMNS
from workbench_dagster.evaluation.agreement import krippendorff_alpha
from workbench_dagster.evaluation.bootstrap import _percentiles, bootstrap_weights, derived_seed
from workbench_dagster.evaluation.metric_registry import scores
from workbench_dagster.evaluation.per_image import outcomes_of, scored_captions
from workbench_dagster.scenario.config import DEFAULT_VARIANT, ModelConfig

VARIANT_COLUMNS = [*CAPTION_COLUMNS, "prompt_variant", "varied", "variant_language"]
SENSITIVITY_COLUMNS = [
    "model",
    "prompt_variant",
    "varied",  # prompt (a reworded instruction) or threshold (the baseline, which reads no prompt)
    "language",
    "threshold",
    "n_images",  # images every variant answered: what every figure of the model is computed on
    "n_failed",  # this variant's failed or unparsable answers on the held-out images
    "f1_micro",
    "f1_micro_ci_low",
    "f1_micro_ci_high",
    "is_best",
    # the model's figures, the same on each of its rows
    "n_variants",
    "krippendorff_alpha",
    "alpha_ci_low",
    "alpha_ci_high",
    "f1_spread",
    "f1_spread_ci_low",
    "f1_spread_ci_high",
    "f1_variant_mean",
    "f1_variant_mean_ci_low",
    "f1_variant_mean_ci_high",
    "best_variant",
    "n_boot",
    "seed",
]
ANSWER_FORMAT = 'Answer with JSON only: {"labels": ["<label id>", ...], "caption": "<caption>"}'


def varied(model: ModelConfig) -> str:
    return "threshold" if model.backend == "baseline" else "prompt"


def variant_prompt(text: str, label_ids: list[str], label_names: dict[str, str]) -> str:
    """A variant's prompt: its text with the label ids at `{taxonomy}` (or after it), then the answer
    format, unchanged so every variant's answer parses the same way."""
    taxonomy = "\n".join(f"- {label_id}: {label_names.get(label_id, label_id)}" for label_id in label_ids)
    body = text.strip()
    body = body.replace("{taxonomy}", taxonomy) if "{taxonomy}" in body else f"{body}\n{taxonomy}"
    return f"{body}\n{ANSWER_FORMAT}"


def tagged(rows: pd.DataFrame, variant: str, model: ModelConfig, language: str | None) -> pd.DataFrame:
    """Caption rows as rows of one variant."""
    return rows.assign(prompt_variant=variant, varied=varied(model), variant_language=language)[VARIANT_COLUMNS]


def alpha_of_counts(
    ones: np.ndarray, disagreeing: np.ndarray, n_raters: int, n_labels: int, weights
) -> np.ndarray:
    """Nominal Krippendorff's alpha of yes/no units rated by every one of `n_raters`, under rows of image
    weights. Per image: `ones`, the yes answers summed over its labels; `disagreeing`, the sum over its
    labels of yes x no answers. NaN where no answer varies (no chance-corrected agreement)."""
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    if n_raters < 2:  # one variant: nothing to agree with
        return np.full(len(w), np.nan)
    total = w.sum(axis=1) * n_raters * n_labels  # pairable values
    n_one = w @ ones
    n_zero = total - n_one
    observed = (w @ disagreeing) / (n_raters - 1)
    expected = n_one * n_zero
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1 - (total - 1) * observed / np.where(expected > 0, expected, 1), np.nan)


def _cube(shared: dict[str, pd.DataFrame], variants: list[str], labels: list[str]) -> np.ndarray:
    """(variants, images, labels) of 0/1: what each variant answered on each shared image."""
    known = {label: k for k, label in enumerate(labels)}
    cube = np.zeros((len(variants), len(next(iter(shared.values()))), len(labels)))
    for v, variant in enumerate(variants):
        for i, chosen in enumerate(shared[variant]["labels"]):
            for label in chosen:
                if label in known:
                    cube[v, i, known[label]] = 1.0
    return cube


def _shared(captions: pd.DataFrame, prompts: pd.DataFrame, variants: list[str]) -> tuple[dict, dict]:
    """({variant: its scored rows on the images every variant answered, in one order}, {variant: failures})."""
    per_variant, failed = {}, {}
    for variant in variants:
        mine = captions[captions["prompt_variant"] == variant]
        ok, scored = scored_captions(mine, prompts)
        failed[variant] = int(len(mine) - len(ok))
        per_variant[variant] = scored.drop_duplicates(["batch", "image_id"]).set_index(["batch", "image_id"])
    keys = sorted(set.intersection(*(set(df.index) for df in per_variant.values()))) if per_variant else []
    return {v: df.loc[keys].reset_index() for v, df in per_variant.items()}, failed


def _interval(samples: np.ndarray) -> tuple[float | None, float | None]:
    """An empty resample set (no shared image) has no interval."""
    samples = np.asarray(samples, dtype=float)
    return _percentiles(samples) if samples.size else (None, None)


def _none(value) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def sensitivity_table(
    model: ModelConfig,
    captions: pd.DataFrame,
    prompts: pd.DataFrame,
    labels: list[str],
    seed: int = 0,
    n_boot: int = 1000,
    default_threshold: float | None = None,
) -> pd.DataFrame:
    """One row per variant of `model` (`default` first): its F1 with an interval, and the model's alpha,
    spread and mean over variants with theirs. `captions`: VARIANT_COLUMNS rows of its held-out batches."""
    variants = [DEFAULT_VARIANT, *(v.id for v in model.prompt_variants)]
    about = {v.id: v for v in model.prompt_variants}
    shared, failed = _shared(captions, prompts, variants)
    n = len(shared[DEFAULT_VARIANT]) if shared else 0
    run_seed = derived_seed(seed, "prompt_sensitivity", model.id)
    weights = np.vstack([np.ones((1, n)), bootstrap_weights(n, n_boot if n else 0, run_seed)])  # row 0: estimate
    f1 = np.stack(
        [
            scores(
                outcomes_of(shared[v]["reference_labels"], shared[v]["labels"], labels, {}), weights, ("f1_micro",)
            )["f1_micro"]
            for v in variants
        ]
    )  # (variants, 1 + n_boot)
    cube = _cube(shared, variants, labels) if n else np.zeros((len(variants), 0, len(labels)))
    ones = cube.sum(axis=0)  # (images, labels): yes answers per unit
    alpha = alpha_of_counts(
        ones.sum(axis=1), (ones * (len(variants) - ones)).sum(axis=1), len(variants), len(labels), weights
    )
    spread, mean = f1.max(axis=0) - f1.min(axis=0), f1.mean(axis=0)
    if len(variants) < 2:  # one variant has no spread, not a spread of 0
        spread = np.full_like(spread, np.nan)
    best = variants[int(np.argmax(f1[:, 0]))] if n else None
    model_figures = {
        "n_variants": len(variants),
        "krippendorff_alpha": _none(alpha[0]) if n else None,
        **dict(zip(("alpha_ci_low", "alpha_ci_high"), _interval(alpha[1:]))),
        "f1_spread": _none(spread[0]) if n else None,
        **dict(zip(("f1_spread_ci_low", "f1_spread_ci_high"), _interval(spread[1:]))),
        "f1_variant_mean": _none(mean[0]) if n else None,
        **dict(zip(("f1_variant_mean_ci_low", "f1_variant_mean_ci_high"), _interval(mean[1:]))),
        "best_variant": best,
        "n_boot": n_boot,
        "seed": run_seed,
    }
    rows = []
    for k, variant in enumerate(variants):
        low, high = _interval(f1[k, 1:])
        spec = about.get(variant)
        rows.append(
            {
                "model": model.id,
                "prompt_variant": variant,
                "varied": varied(model),
                "language": spec.language if spec else None,
                "threshold": spec.threshold
                if spec
                else default_threshold
                if varied(model) == "threshold"
                else None,
                "n_images": n,
                "n_failed": failed.get(variant, 0),
                "f1_micro": _none(f1[k, 0]) if n else None,
                "f1_micro_ci_low": low,
                "f1_micro_ci_high": high,
                "is_best": variant == best,
                **model_figures,
            }
        )
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)


def package_alpha(cube: np.ndarray) -> float | None:
    """The same alpha from the `krippendorff` package (raters x units), for the tests to hold the two equal."""
    return krippendorff_alpha(cube.reshape(len(cube), -1))
