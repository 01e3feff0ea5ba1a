"""One schema per table: the warehouse's declared types cover exactly the table rules' columns."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import write_config
from workbench_dagster.captioning.baseline_registry import REGISTRY_COLUMNS
from workbench_dagster.scenario.config import load_config
from workbench_dagster.warehouse.table_rules import declared_tables
from workbench_dagster.warehouse.table_schemas import DESCRIPTIONS, SCHEMAS


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    return declared_tables(load_config(write_config(tmp_path_factory.mktemp("schemas"))))


def test_every_checked_table_has_its_columns_typed_in_order(tables):
    for name, table in tables.items():
        assert name in SCHEMAS, f"{name}: no schema in warehouse/table_schemas.py"
        assert list(SCHEMAS[name]) == list(table.columns), f"{name}: table_schemas.py and the table rules differ"
    assert list(SCHEMAS["baseline_models"]) == REGISTRY_COLUMNS


def test_every_declared_type_is_a_duckdb_type_and_no_count_is_hugeint():
    con = duckdb.connect()
    for name, columns in SCHEMAS.items():
        assert DESCRIPTIONS[name].endswith("."), name
        for column, type_ in columns.items():
            assert con.execute(f"SELECT typeof(CAST(NULL AS {type_}))").fetchone()[0] == type_, (name, column)
            assert type_ not in ("HUGEINT", "INTEGER", "NULL"), (name, column)  # counts are BIGINT
