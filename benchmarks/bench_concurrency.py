"""Concurrent API calls: 64 images at concurrency 8 vs 1 against the fake OpenAI server adding
200 ms per call, through the real `openai` client and the generic caption loop (cache empty each
run). Prints both times and the speedup (target >= 6x).

    python benchmarks/bench_concurrency.py [--images 64] [--latency 0.2] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    from PIL import Image

    from tests.fakes.openai_server import OpenAIState, fake_openai_server
    from tests.helpers import caption_rows
    from workbench_dagster.backends.openai_compat import OpenAICompatBackend
    from workbench_dagster.captioning.call_cache import CallCache
    from workbench_dagster.captioning.rows import ImageInput

    labels = ["protest", "signs_banners", "small_group", "solidarity"]
    names = {label: label.replace("_", " ") for label in labels}
    images = []
    for i in range(args.images):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (i % 256, (3 * i) % 256, 90)).save(buffer, format="PNG")
        data = buffer.getvalue()
        images.append(ImageInput(f"img-{i:03d}", "bench", hashlib.sha256(data).hexdigest(), data))

    state = OpenAIState(labels)
    state.delay_s = args.latency
    timings = {}
    with fake_openai_server(state) as server:
        for concurrency in (1, args.concurrency):
            backend = OpenAICompatBackend(
                model_id="fake-gpt",
                model="gpt-fake",
                base_url=server.url + "/v1",
                api_key="test-key",
                timeout_s=30,
            )
            with tempfile.TemporaryDirectory() as tmp:
                before = state.calls
                started = time.perf_counter()
                rows, _, _ = caption_rows(backend, images, CallCache(tmp), labels, names, concurrency=concurrency)
                timings[concurrency] = time.perf_counter() - started
                assert all(r["parse_status"] == "ok" for r in rows) and state.calls - before == args.images
    base, fast = timings[1], timings[args.concurrency]
    print(f"images={args.images} latency_per_call={args.latency}s")
    print(f"concurrency 1 : {base:7.2f} s")
    print(f"concurrency {args.concurrency} : {fast:7.2f} s")
    print(f"speedup       : {base / fast:7.2f}x  (target >= 6x)")


if __name__ == "__main__":
    main()
