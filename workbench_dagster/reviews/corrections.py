"""Human corrections retrain the baseline: a new checkpoint version, scored next to the old one.

Version 1 is the checkpoint `baseline_models` trains on the training batch's reference labels.
Version 2 trains on the same images with the reviewers' majority labels where people reviewed
them, plus every reviewed image from other batches. Checkpoints are keyed by the same
fingerprint of images, labels and settings as version 1 (`training_fingerprint`), so:

- no corrections means the same fingerprint, and the version-1 checkpoint is reused;
- the same corrections never train twice; new corrections make a new checkpoint file,
  and the old one stays for comparison.

Both versions are scored on the held-out images neither trained on (reference labels known),
with bootstrap intervals and a paired bootstrap difference v2 - v1 on the same images, so the
table says whether the corrections helped or only moved the number.
"""

from __future__ import annotations

import pandas as pd

from workbench_dagster.evaluation.bootstrap import binarized, bootstrap_intervals, derived_seed, paired_bootstrap
from workbench_dagster.evaluation.metric_registry import PRIMARY, Outcomes, interval_columns

# The metric that ranks models, with its interval and the paired difference, and macro F1 beside it:
# corrections to common labels can lift micro F1 while rare labels get worse.
SIDE_METRICS = ("f1_macro",)
VERSION_COLUMNS = [
    "model",
    "version",
    "fingerprint",
    "checkpoint",
    "n_train",
    "n_corrections",
    "trained",
    "n_eval",
    PRIMARY,
    *interval_columns(PRIMARY),
    *SIDE_METRICS,
    "difference_vs_v1",
    "difference_ci_low",
    "difference_ci_high",
    "verdict_vs_v1",
]


def corrected_training_set(
    train: pd.DataFrame, images: pd.DataFrame, majority: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """train: the version-1 training set (image_id, sha256, uri, reference_labels). Returns the corrected
    set (labels in `reference_labels`) and how many images were relabelled or added."""
    corrected = train.copy()
    if majority.empty:
        return corrected, 0
    human = dict(zip(majority["image_id"], majority["labels"]))
    changed = 0
    labels = []
    for image_id, reference in zip(corrected["image_id"], corrected["reference_labels"]):
        if image_id in human and sorted(human[image_id]) != sorted(reference):
            changed += 1
        labels.append(sorted(human.get(image_id, reference)))
    corrected["reference_labels"] = labels
    extra = images[
        (images["status"] == "ok") & images["image_id"].isin(human) & ~images["image_id"].isin(train["image_id"])
    ]
    added = extra[["image_id", "sha256", "uri"]].assign(
        reference_labels=[sorted(human[i]) for i in extra["image_id"]]
    )
    corrected = pd.concat([corrected, added], ignore_index=True).sort_values("image_id").reset_index(drop=True)
    return corrected, changed + len(added)


def ensure_corrected_checkpoint(
    config, model, corrected: pd.DataFrame, store, device: str
) -> tuple[str, str, bool]:
    """(fingerprint, checkpoint path, trained now?) for a training set with corrected labels."""
    from workbench_dagster.captioning.baseline_registry import train_checkpoint, training_checkpoint

    labels, fingerprint, checkpoint = training_checkpoint(config, model, corrected)
    if checkpoint.exists():
        return fingerprint, str(checkpoint), False
    train_checkpoint(config, model, corrected, labels, fingerprint, checkpoint, store, device)
    return fingerprint, str(checkpoint), True


def compare_versions(
    model_id: str,
    versions: list[dict],
    eval_images: list,
    eval_labels: list[list[str]],
    taxonomy: list[str],
    threshold: float,
    device: str,
    seed: int,
) -> pd.DataFrame:
    """versions: [{version, fingerprint, checkpoint, n_train, n_corrections, trained}], version 1 first."""
    from workbench_dagster.captioning.baseline import BaselineModel

    rows, predictions = [], []
    for v in versions:
        fitted = BaselineModel.load(v["checkpoint"], device)
        predicted = fitted.predict_labels(eval_images, threshold) if eval_images else []
        outcomes = Outcomes(*binarized(eval_labels, predicted, taxonomy))
        predictions.append(outcomes)
        ci = bootstrap_intervals(outcomes, seed=derived_seed(seed, "versions", model_id))
        low, high = interval_columns(PRIMARY)
        rows.append(
            {
                "model": model_id,
                **v,
                "n_eval": len(eval_labels),
                PRIMARY: ci[PRIMARY]["estimate"],
                low: ci[PRIMARY]["ci_low"],
                high: ci[PRIMARY]["ci_high"],
                **{m: ci[m]["estimate"] for m in SIDE_METRICS},
                "difference_vs_v1": None,
                "difference_ci_low": None,
                "difference_ci_high": None,
                "verdict_vs_v1": None,
            }
        )
    for row, outcomes in zip(rows[1:], predictions[1:]):
        diff = paired_bootstrap(outcomes, predictions[0], seed=derived_seed(seed, "versions", model_id))[PRIMARY]
        verdict = {"A better": "better", "B better": "worse"}.get(diff["verdict"], diff["verdict"])
        row |= {
            "difference_vs_v1": diff["difference"],
            "difference_ci_low": diff["ci_low"],
            "difference_ci_high": diff["ci_high"],
            "verdict_vs_v1": verdict,
        }
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def held_out_for_versions(prompts: pd.DataFrame, images: pd.DataFrame, train_ids: set[str]) -> pd.DataFrame:
    """Images with reference labels that no version trained on."""
    known = prompts[prompts["reference_caption"].notna()][["image_id", "reference_labels"]]
    ok = images[(images["status"] == "ok") & ~images["image_id"].isin(train_ids)]
    return ok.merge(known, on="image_id").sort_values("image_id").reset_index(drop=True)
