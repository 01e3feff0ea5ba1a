-- The best and worst caption of each model for each label: held-out images showing the label, ranked by label overlap (Jaccard) with the reference, then caption similarity.
-- `uri` is the image (relative to data_dir when stored under it). An image whose model failed has no
-- caption and is no example; `worst` is left out when a label has a single captioned image.
-- Counterfactual batches (probes that repeat their originals) give no example, as in model_leaderboard.
WITH probes AS (
    SELECT DISTINCT batch FROM prompts WHERE cf_role IS NOT NULL
),
candidates AS (
    SELECT
        c.model,
        c.model_kind,
        r.label,
        c.image_id,
        c.batch,
        i.uri,
        c.caption,
        c.labels AS predicted_labels,
        p.reference_labels,
        s.jaccard,
        s.caption_cosine
    FROM mllm_captions AS c
    JOIN prompts AS p USING (image_id)
    JOIN (SELECT image_id, unnest(reference_labels) AS label FROM prompts) AS r USING (image_id)
    LEFT JOIN image_scores AS s ON s.model = c.model AND s.image_id = c.image_id
    LEFT JOIN synthetic_images AS i ON i.image_id = c.image_id
    WHERE NOT coalesce(c.is_training_batch, false) AND c.caption IS NOT NULL
        AND c.batch NOT IN (SELECT batch FROM probes)
),
ranked AS (
    SELECT
        *,
        row_number() OVER best_first  AS best_rank,
        row_number() OVER worst_first AS worst_rank,
        count(*) OVER (PARTITION BY model, label) AS n_candidates
    FROM candidates
    WINDOW
        best_first AS (
            PARTITION BY model, label
            ORDER BY jaccard DESC NULLS LAST, caption_cosine DESC NULLS LAST, image_id
        ),
        worst_first AS (
            PARTITION BY model, label
            ORDER BY jaccard ASC NULLS FIRST, caption_cosine ASC NULLS FIRST, image_id DESC
        )
)
SELECT
    model,
    model_kind,
    label,
    CASE WHEN best_rank = 1 THEN 'best' ELSE 'worst' END AS example,
    image_id,
    batch,
    uri,
    caption,
    predicted_labels,
    reference_labels,
    jaccard,
    caption_cosine,
    n_candidates
FROM ranked
WHERE best_rank = 1 OR (worst_rank = 1 AND n_candidates > 1)
ORDER BY model, label, example
