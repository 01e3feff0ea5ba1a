"""The project's metrics as local Hugging Face `evaluate` modules, loaded by path.

`evaluate.load("accuracy")` fetches its script from the hub, which is not reachable here, so
each metric lives in `<name>/<name>.py` as an `evaluate.Metric` subclass and is loaded from
that folder. The modules call the same core functions the pipeline uses (`metrics.py`), so a
score read through `evaluate` and one in `eval_scores` cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

MODULES_DIR = Path(__file__).resolve().parent
MODULE_NAMES = ("multilabel_classification", "caption_bertscore", "caption_cosine")


def module_path(name: str) -> Path:
    if name not in MODULE_NAMES:
        raise ValueError(f"unknown evaluation module {name!r}; known: {', '.join(MODULE_NAMES)}")
    return MODULES_DIR / name / f"{name}.py"


def load_metric(name: str, **kwargs):
    """evaluate.load on the module's local file: no hub lookup."""
    import evaluate

    return evaluate.load(str(module_path(name)), **kwargs)


def metric_info(description: str, inputs_description: str, *, label_lists: bool = False):
    """The `evaluate.MetricInfo` of a project module: predictions and references are strings,
    or lists of strings (`label_lists`), one per row."""
    import datasets
    import evaluate

    feature = datasets.Value("string")
    if label_lists:
        feature = datasets.Sequence(feature)
    return evaluate.MetricInfo(
        description=description,
        citation="",
        inputs_description=inputs_description,
        features=datasets.Features({"predictions": feature, "references": feature}),
    )
