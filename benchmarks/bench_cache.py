"""Re-materializing an unchanged model x batch partition pays nothing.

Materializes `mllm_captions` for an OpenAI-compatible model twice through the real Dagster
`materialize`, against the local fake OpenAI server (real HTTP, real `openai` client) with a
per-call latency like a hosted vision model's. Prints both wall times, the ratio and the server
call counts. Target: the second run makes 0 calls and takes <= 5% of the first run's time.

    python benchmarks/bench_cache.py [--images 64] [--latency 2.0] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the fake server adds per call")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    import dagster as dg
    from fakes.openai_server import OpenAIState, fake_openai_server

    from assets._shared.runner import register_batches
    from tests.helpers import write_api_config
    from workbench_dagster.definitions import build_definitions
    from workbench_dagster.scenario.config import load_config

    os.environ["BENCH_FAKE_OPENAI_KEY"] = "test-key"
    state = OpenAIState()
    with fake_openai_server(state) as server, tempfile.TemporaryDirectory() as tmp:
        model = {
            "id": "fake-gpt",
            "backend": "openai",
            "model": "gpt-fake",
            "base_url": server.url + "/v1",
            "api_key_env": "BENCH_FAKE_OPENAI_KEY",
            "concurrency": args.concurrency,
        }
        config = load_config(write_api_config(Path(tmp), model, n_images=args.images))
        state.labels = config.scenario_data.label_ids
        defs = build_definitions(config)
        instance = dg.DagsterInstance.ephemeral()
        register_batches(instance, config)
        runnable = [*defs.assets, *defs.asset_checks]

        def materialize(assets, key=None):
            result = dg.materialize(
                runnable,
                instance=instance,
                resources=defs.resources,
                partition_key=key,
                selection=dg.AssetSelection.assets(*assets),
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            assert result.success
            return result

        for batch in config.batch_ids:  # upstream, not timed
            materialize(["prompts", "synthetic_images"], batch)
        materialize(["baseline_models"])

        key = str(dg.MultiPartitionKey({"model": "fake-gpt", "batch": "b001"}))
        state.delay_s = args.latency
        timings, calls, bodies = [], [], []
        for _ in range(2):
            before = state.calls
            started = time.perf_counter()
            result = materialize(["mllm_captions"], key)
            body = result.asset_materializations_for_node("mllm_captions")[0].metadata["wall_s"].value
            bodies.append(body)
            timings.append(time.perf_counter() - started)
            calls.append(state.calls - before)
        instance.dispose()

    first, second = timings
    print(f"images={args.images} latency_per_call={args.latency}s concurrency={args.concurrency}")
    print(f"first materialization : {first:8.2f} s  server calls = {calls[0]}")
    print(f"second materialization: {second:8.2f} s  server calls = {calls[1]}")
    print(f"ratio second/first    : {second / first:8.3f}  (target <= 0.05, and 0 calls)")
    print(
        f"asset body only       : {bodies[0]:.2f} s -> {bodies[1]:.2f} s  ratio {bodies[1] / bodies[0]:.3f} "
        "(the rest is Dagster's fixed run cost: launch, input loading, blocking GX checks)"
    )


if __name__ == "__main__":
    main()
