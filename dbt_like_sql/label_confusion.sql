-- Which labels each model confuses with which: model x reference label x predicted label over held-out images.
-- An image counts once for every (reference label, predicted label) pair it holds, so the diagonal
-- (is_correct) is the label's true positives and the rest are the labels predicted in its place or
-- beside it; `(none)` stands for an image the model gave no label at all. `rate` is the share of the
-- model's held-out images showing the reference label on which it predicted that label. Counterfactual
-- batches (probes that repeat their originals) are left out, as in model_leaderboard.
WITH probes AS (
    SELECT DISTINCT batch FROM prompts WHERE cf_role IS NOT NULL
),
held_out AS (
    SELECT DISTINCT c.model, c.image_id, c.labels, p.reference_labels
    FROM mllm_captions AS c
    JOIN prompts AS p USING (image_id)
    WHERE NOT coalesce(c.is_training_batch, false) AND len(p.reference_labels) > 0
        AND c.batch NOT IN (SELECT batch FROM probes)
),
reference AS (
    SELECT model, image_id, labels, unnest(reference_labels) AS reference_label
    FROM held_out
),
pairs AS (
    SELECT DISTINCT
        model,
        image_id,
        reference_label,
        coalesce(predicted, '(none)') AS predicted_label
    FROM (
        SELECT *, unnest(CASE WHEN len(labels) = 0 THEN [NULL::VARCHAR] ELSE labels END) AS predicted
        FROM reference
    )
),
support AS (
    SELECT model, reference_label, count(DISTINCT image_id) AS n_reference
    FROM reference
    GROUP BY model, reference_label
)
SELECT
    p.model,
    p.reference_label,
    p.predicted_label,
    p.reference_label = p.predicted_label AS is_correct,
    count(*)                              AS n_images,
    s.n_reference,
    count(*) / s.n_reference              AS rate
FROM pairs AS p
JOIN support AS s USING (model, reference_label)
GROUP BY p.model, p.reference_label, p.predicted_label, s.n_reference
ORDER BY p.model, p.reference_label, n_images DESC, p.predicted_label
