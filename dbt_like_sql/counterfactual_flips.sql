-- One row per model, counterfactual batch, changed attribute and change (from -> to; a count as more or fewer): of the pairs whose reference labels stayed the same, how many flipped the model's labels, next to the attribute's flip rate with its bootstrap interval.
-- A pair is a held-out image and its redraw from the same seed with one attribute changed
-- (generation/counterfactual.py); both sides are captioned like any image. Counts are per change;
-- `flip_rate` and its interval are per attribute (counterfactual_scores, resampling pairs), and
-- `beyond_chance` says its interval excludes 0. A pair with a failed caption on either side is not
-- counted as flipped or not: `n_pairs` counts every pair, `n_scored` those both captions answered.
WITH pairs AS (
    SELECT
        p.batch,
        p.pair_id,
        p.image_id,
        p.original_image_id,
        p.cf_attribute                                              AS attribute,
        CASE
            WHEN try_cast(p.cf_from AS DOUBLE) IS NULL OR try_cast(p.cf_to AS DOUBLE) IS NULL
                THEN p.cf_from || ' -> ' || p.cf_to
            WHEN try_cast(p.cf_to AS DOUBLE) > try_cast(p.cf_from AS DOUBLE) THEN 'more'
            ELSE 'fewer'
        END                                                         AS change,
        list_sort(p.reference_labels) = list_sort(o.reference_labels) AS reference_unchanged
    FROM prompts AS p
    JOIN prompts AS o ON o.batch = p.batch AND o.image_id = p.original_image_id
    WHERE p.cf_role = 'counterfactual'
),
answers AS (
    SELECT batch, image_id, model, model_kind, list_sort(labels) AS labels
    FROM mllm_captions
    WHERE parse_status NOT IN ('invalid', 'error')
),
models AS (
    SELECT DISTINCT batch, model, model_kind FROM mllm_captions
),
judged AS (
    SELECT
        m.model,
        m.model_kind,
        pairs.*,
        c.labels IS NOT NULL AND o.labels IS NOT NULL AS scored,
        c.labels <> o.labels                          AS flipped
    FROM pairs
    JOIN models AS m ON m.batch = pairs.batch
    LEFT JOIN answers AS c ON c.batch = pairs.batch AND c.image_id = pairs.image_id AND c.model = m.model
    LEFT JOIN answers AS o ON o.batch = pairs.batch AND o.image_id = pairs.original_image_id AND o.model = m.model
),
changes AS (
    SELECT
        model,
        model_kind,
        batch,
        attribute,
        change,
        count(*)                                                          AS n_pairs,
        count(*) FILTER (WHERE scored)                                    AS n_scored,
        count(*) FILTER (WHERE scored AND reference_unchanged)            AS n_reference_unchanged,
        count(*) FILTER (WHERE scored AND reference_unchanged AND flipped) AS n_flipped
    FROM judged
    GROUP BY ALL
)
SELECT
    ch.model,
    ch.model_kind,
    ch.batch,
    ch.attribute,
    ch.change,
    ch.n_pairs,
    ch.n_scored,
    ch.n_reference_unchanged,
    ch.n_flipped,
    s.flip_rate,
    s.flip_rate_ci_low,
    s.flip_rate_ci_high,
    coalesce(s.flip_rate_ci_low > 0, false) AS beyond_chance,
    s.recall_difference,
    s.recall_difference_ci_low,
    s.recall_difference_ci_high,
    s.caption_shift,
    s.most_flipped,
    s.note
FROM changes AS ch
LEFT JOIN counterfactual_scores AS s ON s.model = ch.model AND s.batch = ch.batch AND s.attribute = ch.attribute
ORDER BY ch.model, s.flip_rate DESC NULLS LAST, ch.attribute, ch.change
