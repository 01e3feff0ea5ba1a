-- One row per model over the held-out batches only: training batches flatter a fitted baseline.
-- Scores are averaged weighted by n_scored so a small batch cannot swing the ranking.
WITH scores AS (
    SELECT
        model,
        count(DISTINCT batch)                    AS n_batches,
        sum(n_scored)                            AS n_images,
        weighted_avg(f1_micro, n_scored)         AS f1_micro,
        weighted_avg(f1_macro, n_scored)         AS f1_macro,
        weighted_avg(subset_accuracy, n_scored)  AS subset_accuracy,
        weighted_avg(hamming_loss, n_scored)     AS hamming_loss,
        weighted_avg(caption_cosine, n_scored)   AS caption_cosine
    FROM eval_scores
    WHERE NOT coalesce(is_training_batch, false)
    GROUP BY model
),
calls AS (
    SELECT
        model,
        count(*)                                                   AS n_captions,
        count(*) FILTER (WHERE parse_status IN ('invalid', 'error')) AS n_failures,
        count(*) FILTER (WHERE cache_hit)                          AS n_cache_hits,
        sum(cost_usd)                                              AS total_cost_usd,
        avg(latency_ms)                                            AS mean_latency_ms,
        sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) AS total_tokens
    FROM mllm_captions
    WHERE NOT coalesce(is_training_batch, false)
    GROUP BY model
)
SELECT
    rank() OVER (ORDER BY s.f1_micro DESC NULLS LAST) AS rank,
    model,
    s.n_batches,
    s.n_images,
    s.f1_micro,
    s.f1_macro,
    s.subset_accuracy,
    s.hamming_loss,
    s.caption_cosine,
    coalesce(c.n_captions, 0)   AS n_captions,
    coalesce(c.n_failures, 0)   AS n_failures,
    coalesce(c.n_cache_hits, 0) AS n_cache_hits,
    c.total_cost_usd,
    c.mean_latency_ms,
    coalesce(c.total_tokens, 0) AS total_tokens
FROM scores AS s
FULL OUTER JOIN calls AS c USING (model)
ORDER BY rank, model
