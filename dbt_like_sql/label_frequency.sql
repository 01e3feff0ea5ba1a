-- How often each model predicts a label against how often it is really there, on the training batch and on held-out batches apart.
-- Counted over the batches that model captioned, so a model is never charged for batches it did
-- not see; `split` keeps the batch a baseline was trained on from flattering it, as the leaderboard does,
-- and counterfactual batches (probes that repeat their originals) apart as `counterfactual`.
WITH probes AS (
    SELECT DISTINCT batch FROM prompts WHERE cf_role IS NOT NULL
),
captions AS (
    SELECT
        *,
        CASE
            WHEN coalesce(is_training_batch, false) THEN 'training'
            WHEN batch IN (SELECT batch FROM probes) THEN 'counterfactual'
            ELSE 'held_out'
        END AS split
    FROM mllm_captions
),
predicted AS (
    SELECT DISTINCT model, split, batch, image_id, unnest(labels) AS label
    FROM captions
),
model_batches AS (
    SELECT DISTINCT model, split, batch FROM captions
),
reference AS (
    SELECT DISTINCT mb.model, mb.split, p.batch, p.image_id, p.label
    FROM model_batches AS mb
    JOIN (SELECT batch, image_id, unnest(reference_labels) AS label FROM prompts) AS p
        ON p.batch = mb.batch
),
counts AS (
    SELECT
        coalesce(p.model, r.model) AS model,
        coalesce(p.split, r.split) AS split,
        coalesce(p.label, r.label) AS label,
        count(p.image_id)          AS n_predicted,
        count(r.image_id)          AS n_reference,
        count(p.image_id) FILTER (WHERE r.image_id IS NOT NULL) AS n_both
    FROM predicted AS p
    FULL OUTER JOIN reference AS r
        ON r.model = p.model AND r.image_id = p.image_id AND r.label = p.label
    GROUP BY ALL
)
SELECT
    model,
    split,
    label,
    n_predicted,
    n_reference,
    n_both,
    n_predicted - n_reference AS over_prediction,
    n_both / nullif(n_predicted, 0) AS precision,
    n_both / nullif(n_reference, 0) AS recall
FROM counts
ORDER BY model, split, n_reference DESC, label
