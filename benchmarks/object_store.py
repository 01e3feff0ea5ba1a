"""The caption stage on local disk against an S3 API: one 200-image partition, cold and warm cache.

Builds what `mllm_captions` reads (prompts, images, the trained baseline) for a config on a local
folder and for the same config with `data_dir: s3://...` on moto's S3 server (a real HTTP API on a
local port; every request it receives is counted at the server), then materializes
`mllm_captions[b001|base-a]` twice through Dagster's `materialize`: cold (an empty call cache) and
warm (every answer cached). Prints the four times and, for the bucket, the requests per image of
each caption run. Target: a warm re-run makes at most 2 object-store requests per image.

    python benchmarks/object_store.py [--images 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _materialize(defs, instance, keys, partition_key):
    import dagster as dg

    result = dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        instance=instance,
        resources=defs.resources,
        selection=dg.AssetSelection.assets(*keys),
        partition_key=partition_key,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    if not result.success:
        raise SystemExit(f"materialize {keys} [{partition_key}] failed")


def _prepare(defs, instance, config, target):
    """Everything upstream of `target`, each asset for its partitions over the config's batches."""
    import dagster as dg

    from assets._shared.partitions import partition_keys
    from assets._shared.runner import register_batches

    batches = register_batches(instance, config)
    graph = defs.resolve_asset_graph()
    upstream = dg.AssetSelection.assets(target).upstream().resolve(graph) - {target}
    for key in [k for k in graph.toposorted_asset_keys if k in upstream]:
        for partition in partition_keys(graph.get(key).partitions_def, batches):
            _materialize(defs, instance, [key], partition)


def _caption_runs(folder: Path, data_dir: str, images: int, requests=None) -> dict[str, tuple[float, int]]:
    """{"cold": (seconds, requests), "warm": (...)} for one config; requests 0 without a counter."""
    import dagster as dg

    from tests.helpers import write_config
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    folder.mkdir(parents=True)
    config = load_config(
        write_config(
            folder,
            data_dir=data_dir,
            warehouse=f"{data_dir}/warehouse.duckdb",
            landing_dir=f"{data_dir}/landing",
            batches=[{"id": "train", "n_images": 24}, {"id": "b001", "n_images": images}],
            models=[{"id": "base-a", "backend": "baseline", "params": {"channels": 4, "epochs": 1}}],
            provenance={"identity_dir": str(folder / "identity")},  # a mounted secret, not in the bucket
        )
    )
    defs = build_definitions(config)
    target = dg.AssetKey("mllm_captions")
    key = dg.MultiPartitionKey({"batch": "b001", "model": "base-a"})
    out = {}
    (folder / "dagster_home").mkdir()  # the benchmark's instance is local: only the artefacts move
    with dg.DagsterInstance.local_temp(str(folder / "dagster_home")) as instance:
        _prepare(defs, instance, config, target)
        for run in ("cold", "warm"):
            before = requests.total() if requests else 0
            folders = requests.folders() if requests else None
            started = time.perf_counter()
            _materialize(defs, instance, [target], key)
            out[run] = (time.perf_counter() - started, (requests.total() - before) if requests else 0)
            if requests and os.environ.get("BENCH_VERBOSE"):
                print(run, dict(requests.folders() - folders))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()

    from tests.deploy.servers import s3_server

    with tempfile.TemporaryDirectory(prefix="bench-object-store-") as tmp:
        local = _caption_runs(Path(tmp) / "local", str(Path(tmp) / "local" / "data"), args.images)
        with s3_server() as (server, bucket):
            remote = _caption_runs(Path(tmp) / "s3", f"s3://{bucket}/bench", args.images, server.requests)
            counts = server.requests.snapshot()
    n = args.images
    print(f"caption stage, one partition of {n} images (baseline model), materialize wall time:")
    for run in ("cold", "warm"):
        (t_local, _), (t_s3, r_s3) = local[run], remote[run]
        print(
            f"  {run}: local disk {t_local:6.2f} s   moto S3 {t_s3:6.2f} s   requests {r_s3} ({r_s3 / n:.2f} per image)"
        )
    print(f"  all requests to the S3 server over the benchmark, by method: {dict(counts)}")
    warm = remote["warm"][1] / n
    print(
        f"  target: a warm re-run makes <= 2 requests per image: {'met' if warm <= 2 else 'NOT met'} ({warm:.2f})"
    )
    print(f"ratio warm S3 / warm local time: {remote['warm'][0] / local['warm'][0]:.2f}")


if __name__ == "__main__":
    main()
