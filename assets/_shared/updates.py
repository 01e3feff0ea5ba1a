"""The update plan (workbench_dagster/freshness.py) read from a Dagster instance and asset graph.

The demo runner, the updates sensor and the nightly schedule ask this one module what must run:
each target is an asset at a partition key of the config's batches, with the input partitions it
reads through the graph's own partition mappings (only the config's batches, as the IO manager
reads them), its code version and its fingerprint; each record is the instance's latest
materialization of a partition.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from assets._shared.jobs import StageJob, stage_jobs_in_order
from assets._shared.partitions import batch_of, is_config_batch, model_of, partition_keys
from workbench_dagster.freshness import (
    DATA_HASH,
    FINGERPRINT,
    INPUTS,
    Materialized,
    Plan,
    Target,
    pair_id,
    plan_updates,
)
from workbench_dagster.scenario.config import WorkbenchConfig
from workbench_dagster.scenario.fingerprint import SOURCES_METADATA, Fingerprints


def _read_partitions(
    graph, child: dg.AssetKey, key, parent: dg.AssetKey, config: WorkbenchConfig
) -> list[str | None]:
    if graph.get(parent).partitions_def is None:
        return [None]
    mapped = graph.get_parent_partition_keys_for_child(str(key) if key is not None else None, parent, child)
    keys = [str(k) for k in mapped.partitions_subset.get_partition_keys()]
    if len(keys) <= 1:  # one partition is read as asked (resources/parquet_io.py)
        return keys
    parent_def = graph.get(parent).partitions_def
    return [
        k
        for k in keys
        if (b := batch_of(parent_def, k)) is None or is_config_batch(config.batch_ids, config.landing_dir, b)
    ]


def _target(
    graph, asset: dg.AssetKey, key, job: str, config: WorkbenchConfig, fingerprints: Fingerprints
) -> Target:
    node = graph.get(asset)
    sources = tuple(filter(None, str(node.metadata.get(SOURCES_METADATA, "") or "").split(",")))
    parents = sorted(node.parent_keys, key=lambda k: k.to_user_string())
    return Target(
        asset=asset.to_user_string(),
        key=str(key) if key is not None else None,
        job=job,
        parents=tuple(
            pair_id(parent.to_user_string(), k)
            for parent in parents
            for k in _read_partitions(graph, asset, key, parent, config)
        ),
        code_version=node.code_version,
        fingerprint=fingerprints.of(
            batch_of(node.partitions_def, key), model_of(node.partitions_def, key), sources
        ),
    )


def targets(
    defs: dg.Definitions, config: WorkbenchConfig, batches: list[str], jobs: list[StageJob] | None = None
) -> list[Target]:
    """Every asset partition of the stage jobs over `batches`, upstream first."""
    graph = defs.resolve_asset_graph()
    order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
    fingerprints = Fingerprints(config)
    return [
        _target(graph, asset, key, job.name, config, fingerprints)
        for job in jobs or stage_jobs_in_order(defs)
        for key in partition_keys(job.partitions_def, batches)
        for asset in sorted(job.assets, key=order.__getitem__)
    ]


def update_metadata(context: dg.AssetExecutionContext, config: WorkbenchConfig) -> dict:
    """For an asset that reads its inputs itself (deps, not ins), what the IO manager records for the
    others: the data hash of every input partition now, and its fingerprint."""
    graph = context.job_def.asset_layer.asset_graph  # the whole graph, also in dg.materialize
    key = context.partition_key if context.has_partition_key else None
    with dg.partition_loading_context(dynamic_partitions_store=context.instance):
        target = _target(graph, context.asset_key, key, "", config, Fingerprints(config))
    record_of = records(context.instance)
    inputs = {p: r.data_hash for p in target.parents if (r := record_of(p)) is not None}
    return {INPUTS: dg.MetadataValue.json(inputs), FINGERPRINT: target.fingerprint}


def _split(pair: str) -> tuple[str, str | None]:
    if pair.endswith("]") and "[" in pair:
        asset, key = pair[:-1].split("[", 1)
        return asset, key
    return pair, None


def records(instance: dg.DagsterInstance) -> Callable[[str], Materialized | None]:
    """The latest materialization of a pair, read once per plan: a partitioned asset's latest records for
    all its partitions in two queries (their storage ids, then the records), not one query per pair."""
    seen: dict[str, Materialized | None] = {}
    loaded: set[str] = set()

    def load_partitions(asset: str) -> None:
        key = dg.AssetKey.from_user_string(asset)
        ids = instance.event_log_storage.get_latest_storage_id_by_partition(
            key, dg.DagsterEventType.ASSET_MATERIALIZATION
        )
        if ids:
            found = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, storage_ids=list(ids.values())), limit=len(ids)
            ).records
            for record in found:
                event = record.asset_materialization
                seen[f"{asset}[{event.partition}]"] = _materialized(event)
        loaded.add(asset)

    def record_of(pair: str) -> Materialized | None:
        if pair not in seen:
            asset, key = _split(pair)
            if key is not None:
                if asset not in loaded:
                    load_partitions(asset)
                return seen.get(pair)
            found = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string(asset)), limit=1
            ).records
            seen[pair] = _materialized(found[0].asset_materialization) if found else None
        return seen[pair]

    return record_of


def _materialized(event: dg.AssetMaterialization) -> Materialized:
    metadata = event.metadata

    def text(name):
        value = metadata.get(name)
        return None if value is None else str(getattr(value, "value", value))

    inputs = metadata.get(INPUTS)
    return Materialized(
        data_hash=text(DATA_HASH),
        inputs=dict(inputs.value) if inputs is not None else None,
        code_version=event.tags.get("dagster/code_version") if event.tags else None,
        fingerprint=text(FINGERPRINT),
    )


def failed_blocking_checks(defs: dg.Definitions, instance: dg.DagsterInstance) -> Callable[[str], list[str]]:
    """The blocking checks whose latest evaluation of a pair failed."""
    graph = defs.resolve_asset_graph()
    blocking: dict[str, list[dg.AssetCheckKey]] = {}
    for check_key in graph.asset_check_keys:
        if graph.get_check_spec(check_key).blocking:
            blocking.setdefault(check_key.asset_key.to_user_string(), []).append(check_key)
    seen: dict[str, list[str]] = {}

    def failed(pair: str) -> list[str]:
        asset, key = _split(pair)
        if asset not in blocking:
            return []
        if pair not in seen:
            latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                blocking[asset], partition_filter=PartitionKeyFilter(key=key)
            )
            seen[pair] = sorted(
                k.name for k, record in latest.items() if record.status == AssetCheckExecutionRecordStatus.FAILED
            )
        return seen[pair]

    return failed


def plan(defs: dg.Definitions, instance: dg.DagsterInstance, config: WorkbenchConfig, batches: list[str]) -> Plan:
    with dg.partition_loading_context(dynamic_partitions_store=instance):
        found = targets(defs, config, batches)
    return plan_updates(found, records(instance), failed_blocking_checks(defs, instance))
