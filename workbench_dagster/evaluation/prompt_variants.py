"""A model's prompt variants captioned through the one caption loop and the one call cache.

The model's own prompt is not asked again here: its captions are `mllm_captions`' rows (variant
`default`). Each other variant runs the loop `mllm_captions` runs, with the variant's prompt (API and
local models: the rendered prompt is in the cache key, so a variant is paid for once) or the variant's
threshold (the baseline: the threshold is in its cache key's decoding parameters).
"""

from __future__ import annotations

from workbench_dagster.captioning.caption_loop import LoopStats, Prices, RetryPolicy, caption_with_backend
from workbench_dagster.captioning.parsing import PROMPT_VERSION, AnswerBounds
from workbench_dagster.captioning.rows import ImageInput, caption_with_baseline
from workbench_dagster.evaluation.prompt_sensitivity import variant_prompt, varied
from workbench_dagster.scenario.config import ModelConfig
from workbench_dagster.scenario.scenario_file import Scenario


def caption_variants(
    model: ModelConfig,
    images: list[ImageInput],
    scenario: Scenario,
    *,
    cache,
    backend=None,
    baseline=None,
    is_training_batch: bool = False,
) -> tuple[list[dict], dict[str, int]]:
    """(rows of every variant of `model`, each tagged with it; {variant: images the model was called for}).

    `backend` is the model's caption backend (make_backend), `baseline` its loaded BaselineModel."""
    label_ids = scenario.label_ids
    label_names = {t.id: t.name for t in scenario.taxonomy}
    rows, called = [], {}
    for variant in model.prompt_variants:
        if model.backend == "baseline":
            variant_rows, n_called = caption_with_baseline(
                model=baseline,
                model_id=model.id,
                images=images,
                label_names=label_names,
                threshold=variant.threshold,
                cache=cache,
                is_training_batch=is_training_batch,
            )
        else:
            variant_rows, n_called = caption_with_backend(
                backend=backend,
                images=images,
                prompt=variant_prompt(variant.text, label_ids, label_names),
                prompt_version=PROMPT_VERSION,
                labels=label_ids,
                label_names=label_names,
                cache=cache,
                concurrency=model.concurrency,
                retry=RetryPolicy(max_attempts=model.max_retries + 1, max_total_s=model.retry_budget_s),
                prices=Prices(model.price_per_million_input, model.price_per_million_output),
                is_training_batch=is_training_batch,
                stats=LoopStats(),
                bounds=AnswerBounds.of(model),
            )
        tag = {"prompt_variant": variant.id, "varied": varied(model), "variant_language": variant.language}
        rows += [{**row, **tag} for row in variant_rows]
        called[variant.id] = n_called
    return rows, called
