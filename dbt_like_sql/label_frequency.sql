-- How often each model predicts a label against how often it is really there, counted over the
-- batches that model captioned so a model is never charged for batches it did not see.
WITH predicted AS (
    SELECT DISTINCT model, batch, image_id, unnest(labels) AS label
    FROM mllm_captions
),
model_batches AS (
    SELECT DISTINCT model, batch FROM mllm_captions
),
reference AS (
    SELECT DISTINCT mb.model, p.batch, p.image_id, p.label
    FROM model_batches AS mb
    JOIN (SELECT batch, image_id, unnest(reference_labels) AS label FROM prompts) AS p
        ON p.batch = mb.batch
),
counts AS (
    SELECT
        coalesce(p.model, r.model) AS model,
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
    label,
    n_predicted,
    n_reference,
    n_both,
    n_predicted - n_reference AS over_prediction,
    n_both / nullif(n_predicted, 0) AS precision,
    n_both / nullif(n_reference, 0) AS recall
FROM counts
ORDER BY model, n_reference DESC, label
