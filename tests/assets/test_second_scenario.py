"""The second shipped scenario runs the whole graph, and nothing of the first one leaks into its tables
(issue 12, item 3): the code knows the schema, never the case. Real Dagster runs at small size."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets._shared.instance import prepare_instance_home
from assets._shared.runner import run_pipeline
from tests.helpers import write_config
from workbench_dagster.definitions import build_definitions
from workbench_dagster.scenario.config import load_config
from workbench_dagster.scenario.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]
FIRST, SECOND = ROOT / "scenarios" / "atropia.yaml", ROOT / "scenarios" / "kestria.yaml"


def first_scenario_strings() -> set[str]:
    """What only the first scenario could have put in a table: its names, places, words and labels."""
    s = load_scenario(FIRST)
    strings = {s.id, s.title, s.country, s.movement.name, *s.movement.hashtags, *s.label_ids, *s.themes}
    strings |= {*s.demands, *(t.name for t in s.taxonomy), *s.scene_types}
    strings |= {x for location in s.locations for x in (location.name, location.landmark)}
    strings |= {slogan for slogans in s.movement.slogans.values() for slogan in slogans}
    for text in s.flyers.values():
        strings |= {*text.headings, *text.demands.values(), *text.places.values()}
    for part in ("openers", "bodies", "closers"):
        strings |= {opt for opts in getattr(s.comments, part).values() for opt in opts if "{" not in opt}
    return {x.lower() for x in strings if len(x) >= 5}


def cell_strings(value) -> list[str]:
    """Every string a cell holds: itself, a list's items, a JSON document's values."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return [value, *cell_strings(parsed)] if isinstance(parsed, dict | list) else [value]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (str(k), *cell_strings(v))]
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        return [x for item in (value.tolist() if hasattr(value, "tolist") else value) for x in cell_strings(item)]
    return []


def leaks(frame: pd.DataFrame, forbidden: set[str]) -> list[str]:
    found = []
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmM":
            continue
        for value in frame[column]:
            for text in cell_strings(value):
                found += [f"{column}: {x!r} in {text[:80]!r}" for x in forbidden if x in text.lower()]
    return found


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    folder = tmp_path_factory.mktemp("second")
    shutil.copy(SECOND, folder / "kestria.yaml")
    path = write_config(
        folder,
        scenario="kestria.yaml",
        data_dir="data_kestria",
        warehouse="data_kestria/warehouse.duckdb",
        landing_dir="data_kestria/landing",
        batches=[{"id": "train", "n_images": 32}, {"id": "k001", "n_images": 8}],
        images={"backend": "procedural", "width": 96, "height": 72},
        models=[{"id": "base-k", "backend": "baseline", "params": {"channels": 6, "epochs": 2}}],
        comments={"backend": "template", "per_image": 2},
        graph={"k": 3, "min_similarity": 0.1, "variants": ["labels_captions_comments"]},
    )
    (folder / "atropia.yaml").unlink()  # write_config copies the default; nothing of it may be read
    config = load_config(path)
    with dg.DagsterInstance.from_config(str(prepare_instance_home(config))) as instance:
        results = run_pipeline(build_definitions(config), instance, config, log=lambda _: None)
    return config, results


def count(config, sql: str) -> int:
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


@pytest.mark.slow
def test_the_second_scenario_runs_the_whole_graph(second):
    config, results = second
    assert [r.run_id for r in results if not r.success] == []
    assert config.scenario.name == "kestria.yaml"
    assert count(config, "select count(*) from mllm_captions") == 32 + 8
    assert count(config, "select count(*) from eval_scores") > 0
    audit = "select count(*) from reference_audit"
    assert count(config, audit) == 32 + 8
    assert count(config, f"{audit} where status <> 'ok'") == 0  # every reference label drawn
    labels = "select distinct unnest(reference_labels) from prompts"
    with duckdb.connect(str(config.warehouse), read_only=True) as con:
        assert {row[0] for row in con.sql(labels).fetchall()} <= set(load_scenario(SECOND).label_ids)


@pytest.mark.slow
def test_no_string_of_the_first_scenario_is_in_any_table(second):
    config, _ = second
    forbidden = first_scenario_strings()
    assert {"atropia", "ni una más", "port valmora", "flyer_es", "signs_banners"} <= forbidden
    tables = sorted((config.data_dir / "tables").rglob("*.parquet"))
    assert len({p.relative_to(config.data_dir / "tables").parts[0] for p in tables}) >= 10
    found = [
        f"{p.relative_to(config.data_dir)}: {x}" for p in tables for x in leaks(pd.read_parquet(p), forbidden)
    ]
    assert found == [], found[:10]


def test_the_scan_finds_a_first_scenario_string_in_a_list_or_json_cell():
    """The scan itself can fail: a label id in a list column and a place in a JSON document are found."""
    forbidden = first_scenario_strings()
    frame = pd.DataFrame(
        {
            "labels": [["placards"], ["solidarity"]],
            "spec_json": [json.dumps({"setting": "Halvern"}), json.dumps({"setting": "Port Valmora"})],
            "n": [1, 2],
        }
    )
    found = leaks(frame, forbidden)
    assert any("solidarity" in x for x in found) and any("port valmora" in x for x in found)
    assert leaks(frame.iloc[:1], forbidden) == []


def test_the_example_config_keeps_all_its_state_apart_from_the_default():
    default, second = (
        load_config(ROOT / "workbench.yaml"),
        load_config(ROOT / "examples" / "workbench.kestria.yaml"),
    )
    assert second.scenario == SECOND and second.data_dir == ROOT / "data_kestria"
    for path in (second.warehouse, second.landing_dir, second.dagster_home):
        assert path.is_relative_to(second.data_dir) and not path.is_relative_to(default.data_dir)
