"""A partition's fingerprint moves with what it is made from, and only with that."""

import yaml

from tests.helpers import png, write_config
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.fingerprint import LANDING, REVIEWS_INBOX, Fingerprints


def _edited(tmp_path, edit):
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    other = path.with_name("edited.yaml")
    other.write_text(yaml.safe_dump(data), encoding="utf-8")
    return Fingerprints(load_config(path)), Fingerprints(load_config(other))


def test_adding_a_batch_or_a_model_leaves_the_other_partitions_alone(tmp_path):
    def add(data):
        data["batches"].append({"id": "b002", "n_images": 5})
        data["models"].append({"id": "base-c", "backend": "baseline"})

    before, after = _edited(tmp_path, add)
    for batch, model in [("b001", None), ("train", "base-a"), (None, "base-b"), (None, None)]:
        assert before.of(batch, model) == after.of(batch, model)
    assert after.of("b002", None) != after.of("b001", None)


def test_a_changed_setting_or_batch_size_reaches_the_partitions_it_may_touch(tmp_path):
    before, after = _edited(tmp_path, lambda d: d["graph"].update(k=7))
    assert before.of("b001", "base-a") != after.of("b001", "base-a")
    before, after = _edited(tmp_path, lambda d: d["batches"][1].update(n_images=13))
    assert before.of("b001", None) != after.of("b001", None) and before.of("train", None) == after.of(
        "train", None
    )


def test_landing_and_inbox_reach_only_the_assets_that_read_them(tmp_path):
    config = load_config(write_config(tmp_path))
    folder = config.landing_dir / "drop"
    folder.mkdir(parents=True)
    (folder / "a.png").write_bytes(png(1))
    first = Fingerprints(config)
    before = first.of("drop", None, (LANDING,)), first.of(None, None, (REVIEWS_INBOX,)), first.of("drop", None)
    (folder / "a.png").write_bytes(png(2))
    (config.data_dir / "reviews" / "inbox").mkdir(parents=True)
    (config.data_dir / "reviews" / "inbox" / "sheet.csv").write_text("image_id,reviewer,labels\n")
    second = Fingerprints(config)
    assert before[0] != second.of("drop", None, (LANDING,))
    assert before[1] != second.of(None, None, (REVIEWS_INBOX,))
    assert before[2] == second.of("drop", None)
