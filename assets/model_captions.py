"""The M-LLM branch of `mllm_captions` (gemini, openai, and any backend `make_backend` knows):
a thin Dagster wrapper around the generic caption loop in workbench_dagster/calls.py."""

import dagster as dg
import pandas as pd

from assets.metadata import table_metadata
from workbench_dagster.backends import make_backend
from workbench_dagster.backends.base import BackendUnavailable
from workbench_dagster.captioning.caption_loop import (
    LoopStats,
    Prices,
    RetryPolicy,
    caption_with_backend,
    summarize,
)
from workbench_dagster.captioning.parsing import PROMPT_VERSION, render_caption_prompt
from workbench_dagster.captioning.rows import CAPTION_COLUMNS, ImageInput


def caption_partition_with_model(
    context, workbench, model_config, batch: str, synthetic_images: pd.DataFrame, device=None, dtype=None
) -> dg.Output:
    """One model x batch partition through a model backend. A model that cannot run here (no key,
    no GPU) fails the partition with what to set, never a deep traceback."""
    import time

    started = time.perf_counter()
    cfg = workbench.config
    try:
        backend = make_backend(model_config, device=device, dtype=dtype)
    except BackendUnavailable as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    store = workbench.image_store
    inputs = [
        ImageInput(
            r["image_id"],
            r["batch"],
            r["sha256"],
            store.get(r["uri"]) if r["status"] == "ok" else None,
            r["error"],
        )
        for r in synthetic_images.to_dict("records")
    ]
    scenario = cfg.scenario_data
    label_ids = [t.id for t in scenario.taxonomy]
    label_names = {t.id: t.name for t in scenario.taxonomy}
    stats = LoopStats()
    rows, n_called = caption_with_backend(
        backend=backend,
        images=inputs,
        prompt=render_caption_prompt(label_ids, label_names),
        prompt_version=PROMPT_VERSION,
        labels=label_ids,
        label_names=label_names,
        cache=workbench.call_cache,
        concurrency=model_config.concurrency,
        retry=RetryPolicy(max_attempts=model_config.max_retries + 1, max_total_s=model_config.retry_budget_s),
        prices=Prices(model_config.price_per_million_input, model_config.price_per_million_output),
        is_training_batch=(batch == cfg.baseline.train_batch),
        stats=stats,
    )
    df = pd.DataFrame(rows, columns=CAPTION_COLUMNS)
    summary = summarize(rows)
    context.log.info(
        f"{model_config.id} on {batch}: {n_called} images called ({stats.model_calls} requests), "
        f"{stats.cache_hits} from cache, parse {summary['parse_status']}"
    )
    return dg.Output(
        df,
        metadata=table_metadata(
            df,
            ["image_id", "labels", "caption", "parse_status", "error"],
            model_calls=stats.model_calls,
            images_called=n_called,
            cache_hits=stats.cache_hits,
            parse_status=summary["parse_status"],
            response_mode=summary["response_mode"],
            n_dropped_labels=summary["n_dropped_labels"],
            total_cost_usd=summary["total_cost_usd"],
            cost_usd_this_run=round(stats.cost_usd_this_run, 6),
            backend=model_config.backend,
            provider_model=model_config.model or "",
            wall_s=round(time.perf_counter() - started, 3),
        ),
    )
