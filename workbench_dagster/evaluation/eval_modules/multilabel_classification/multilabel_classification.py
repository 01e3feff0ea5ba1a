"""Multi-label classification scores over a fixed taxonomy, as an `evaluate` module.

Subset (exact-match) accuracy, per-sample accuracy (Jaccard of the two label sets), precision,
recall and F1 (micro, macro, weighted and per label), Hamming loss and Jaccard (micro, macro).
Labels outside `labels` are dropped before scoring; a label never predicted still counts in the
macro averages.
"""

import evaluate
import numpy as np

from workbench_dagster.evaluation.eval_modules import metric_info

_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: list of label lists, one per image.
    references: list of label lists, one per image.
    labels: the taxonomy (list of label ids), required.
Returns:
    subset_accuracy, sample_accuracy, hamming_loss, precision/recall/f1 and jaccard for
    micro, macro (and weighted) averages, and `per_label`: {label: {precision, recall, f1, support}}.
Examples:
    >>> metric = evaluate.load("workbench_dagster/evaluation/eval_modules/multilabel_classification/multilabel_classification.py")
    >>> metric.compute(predictions=[["a"]], references=[["a", "b"]], labels=["a", "b"])["f1_micro"]
    0.6666666666666666
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MultilabelClassification(evaluate.Metric):
    def _info(self):
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION, label_lists=True)

    def _compute(self, predictions, references, labels=None):
        from sklearn.metrics import jaccard_score, precision_recall_fscore_support

        from workbench_dagster.evaluation.metrics import _binarize, multilabel_scores

        if not labels:
            raise ValueError("multilabel_classification needs labels=<the taxonomy>")
        labels = list(labels)
        predictions, references = [list(p) for p in predictions], [list(r) for r in references]
        out = multilabel_scores(references, predictions, labels)
        if not references:
            return out
        t, p = _binarize(references, labels), _binarize(predictions, labels)
        precision, recall, f1, _ = precision_recall_fscore_support(t, p, average="weighted", zero_division=0)
        out |= {"precision_weighted": float(precision), "recall_weighted": float(recall), "f1_weighted": float(f1)}
        for average in ("micro", "macro"):
            out[f"jaccard_{average}"] = float(jaccard_score(t, p, average=average, zero_division=0))
        precision, recall, f1, support = precision_recall_fscore_support(t, p, average=None, zero_division=0)
        out["per_label"] = {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        }
        out["per_sample_accuracy"] = [
            float(x)
            for x in np.where(
                (t | p).sum(axis=1) == 0, 1.0, (t & p).sum(axis=1) / np.maximum((t | p).sum(axis=1), 1)
            )
        ]
        return out
