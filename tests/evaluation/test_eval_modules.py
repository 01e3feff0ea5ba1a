"""The project's metrics as local `evaluate` modules, loaded by path (no hub)."""

from __future__ import annotations

import pytest

from workbench_dagster.evaluation.eval_modules import MODULE_NAMES, load_metric, module_path

LABELS = ["a", "b", "c"]
# Binarised over (a, b, c): true [1,1,0] [0,0,1] [0,0,0] [1,0,0]; pred [1,0,0] [0,1,1] [0,0,0] [0,1,1]
Y_TRUE = [["a", "b"], ["c"], [], ["a"]]
Y_PRED = [["a"], ["c", "b"], [], ["b", "c"]]


def test_every_module_is_a_local_file():
    for name in MODULE_NAMES:
        assert module_path(name).is_file()
    with pytest.raises(ValueError, match="unknown evaluation module"):
        module_path("accuracy")


def test_multilabel_module_by_hand():
    result = load_metric("multilabel_classification").compute(predictions=Y_PRED, references=Y_TRUE, labels=LABELS)
    # supports a 2, b 1, c 1; precision a 1, b 0, c 1/2; recall a 1/2, b 0, c 1; F1 a 2/3, b 0, c 2/3
    expected = {
        "subset_accuracy": 1 / 4,
        "sample_accuracy": 1 / 2,
        "hamming_loss": 5 / 12,
        "precision_micro": 2 / 5,
        "recall_micro": 1 / 2,
        "f1_micro": 4 / 9,
        "precision_macro": 1 / 2,
        "recall_macro": 1 / 2,
        "f1_macro": 4 / 9,
        "precision_weighted": (2 * 1 + 0 + 1 / 2) / 4,
        "recall_weighted": (2 * 1 / 2 + 0 + 1) / 4,
        "f1_weighted": (2 * 2 / 3 + 0 + 2 / 3) / 4,
        "jaccard_micro": 2 / 7,  # tp 2 / (tp 2 + fp 3 + fn 2)
        "jaccard_macro": (1 / 2 + 0 + 1 / 2) / 3,
    }
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    assert result["per_sample_accuracy"] == pytest.approx([1 / 2, 1 / 2, 1.0, 0.0])
    assert result["per_label"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    with pytest.raises(ValueError, match="labels"):
        load_metric("multilabel_classification").compute(predictions=Y_PRED, references=Y_TRUE)


def test_caption_modules_run_offline_on_the_packaged_minilm():
    captions = ["a crowd marches through the square at night", "a flyer in spanish on a wall"]
    references = ["a crowd marching through the square at night", "a tall building in daylight"]
    bert = load_metric("caption_bertscore").compute(
        predictions=captions + references[:1], references=references + references[:1]
    )
    assert bert["num_layers"] == 6 and bert["model_type"].endswith("model")
    paraphrase, unrelated, identical = bert["per_sample_f1"]
    assert identical == pytest.approx(1.0, abs=1e-5)
    assert paraphrase > unrelated
    cosine = load_metric("caption_cosine").compute(predictions=captions, references=references)
    assert cosine["per_sample"][0] > cosine["per_sample"][1]
    assert cosine["cosine"] == pytest.approx(sum(cosine["per_sample"]) / 2)
