-- One row per model over the held-out batches only (training batches flatter a fitted baseline), with its kind: baseline, api or local_vlm.
-- Scores are averaged weighted by n_scored so a small batch cannot swing the ranking. A batch with no
-- scored image (a landing folder: no reference labels) is not one the scores rest on, so it is not counted.
-- Counterfactual batches (redraws of held-out scenes with one attribute changed) are probes, audited in
-- counterfactual_flips: they would count their originals twice, so they are not counted either.
WITH probes AS (
    SELECT DISTINCT batch FROM prompts WHERE cf_role IS NOT NULL
),
scores AS (
    SELECT
        model,
        count(DISTINCT batch) FILTER (WHERE n_scored > 0) AS n_batches,
        sum(n_scored)::BIGINT                    AS n_images,
        weighted_avg(f1_micro, n_scored)         AS f1_micro,
        weighted_avg(f1_macro, n_scored)         AS f1_macro,
        weighted_avg(subset_accuracy, n_scored)  AS subset_accuracy,
        weighted_avg(hamming_loss, n_scored)     AS hamming_loss,
        weighted_avg(caption_cosine, n_scored)   AS caption_cosine,
        weighted_avg(caption_bertscore, n_scored) AS caption_bertscore
    FROM eval_scores
    WHERE NOT coalesce(is_training_batch, false) AND batch NOT IN (SELECT batch FROM probes)
    GROUP BY model
),
intervals AS (
    -- Pooled over every held-out image of the model, with a bootstrap 95% interval over images.
    SELECT
        model,
        max(estimate) FILTER (WHERE metric = 'f1_micro') AS f1_micro,
        max(ci_low)   FILTER (WHERE metric = 'f1_micro') AS f1_micro_ci_low,
        max(ci_high)  FILTER (WHERE metric = 'f1_micro') AS f1_micro_ci_high,
        max(ci_low)   FILTER (WHERE metric = 'f1_macro') AS f1_macro_ci_low,
        max(ci_high)  FILTER (WHERE metric = 'f1_macro') AS f1_macro_ci_high
    FROM metric_intervals
    GROUP BY model
),
beats AS (
    -- Paired bootstrap on the same images: the models this one beats on micro F1 beyond chance.
    SELECT
        model,
        string_agg(other_model, ', ' ORDER BY other_model) FILTER (WHERE verdict = 'better') AS significantly_beats,
        count(*) FILTER (WHERE verdict = 'no clear difference')                           AS n_models_tied
    FROM model_comparisons
    WHERE metric = 'f1_micro'
    GROUP BY model
),
variants AS (
    -- prompt_sensitivity: micro F1 averaged over the model's prompt variants (its own prompt among them)
    -- and that of its best variant, on the held-out images every variant answered; one variant: its own.
    SELECT
        model,
        max(n_variants)                          AS n_prompt_variants,
        max(f1_variant_mean)                     AS f1_micro_variant_mean,
        max(f1_micro) FILTER (WHERE is_best)     AS f1_micro_best_variant,
        max(best_variant)                        AS best_variant,
        max(varied)                              AS variants_vary
    FROM prompt_sensitivity
    GROUP BY model
),
calls AS (
    SELECT
        model,
        string_agg(DISTINCT model_kind, ', ' ORDER BY model_kind)  AS model_kind,
        count(*)                                                   AS n_captions,
        count(*) FILTER (WHERE parse_status IN ('invalid', 'error')) AS n_failures,
        count(*) FILTER (WHERE cache_hit)                          AS n_cache_hits,
        sum(cost_usd)                                              AS total_cost_usd,
        avg(latency_ms)                                            AS mean_latency_ms,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0))::BIGINT AS total_tokens
    FROM mllm_captions
    WHERE NOT coalesce(is_training_batch, false) AND batch NOT IN (SELECT batch FROM probes)
    GROUP BY model
)
SELECT
    rank() OVER (ORDER BY coalesce(i.f1_micro, s.f1_micro) DESC NULLS LAST) AS rank,
    model,
    c.model_kind,
    s.n_batches,
    s.n_images,
    coalesce(i.f1_micro, s.f1_micro) AS f1_micro,
    i.f1_micro_ci_low,
    i.f1_micro_ci_high,
    b.significantly_beats,
    coalesce(b.n_models_tied, 0) AS n_models_tied,
    v.n_prompt_variants,
    v.f1_micro_variant_mean,
    v.f1_micro_best_variant,
    v.best_variant,
    v.variants_vary,
    i.f1_macro_ci_low,
    i.f1_macro_ci_high,
    s.f1_macro,
    s.subset_accuracy,
    s.hamming_loss,
    s.caption_cosine,
    s.caption_bertscore,
    coalesce(c.n_captions, 0)   AS n_captions,
    coalesce(c.n_failures, 0)   AS n_failures,
    coalesce(c.n_cache_hits, 0) AS n_cache_hits,
    c.total_cost_usd,
    c.mean_latency_ms,
    coalesce(c.total_tokens, 0) AS total_tokens
FROM scores AS s
FULL OUTER JOIN calls AS c USING (model)
LEFT JOIN intervals AS i USING (model)
LEFT JOIN beats AS b USING (model)
LEFT JOIN variants AS v USING (model)
ORDER BY rank, model
