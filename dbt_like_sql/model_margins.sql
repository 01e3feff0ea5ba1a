-- By how much each model beats another: one row per pair of models and metric, the leader first, with the paired-bootstrap interval and verdict.
-- From model_comparisons, which holds each pair twice (once from each side): the row kept is the
-- one from the side that is ahead in the metric's own direction (metrics.lower_is_better: for Hamming
-- loss the lower model leads), so `margin` >= 0 is how far ahead it is, in the metric's units, and
-- its interval is the paired bootstrap's; `verdict` reads "better" when the margin is beyond chance.
WITH oriented AS (
    SELECT
        c.*,
        CASE WHEN coalesce(m.lower_is_better, false) THEN -1 ELSE 1 END AS direction
    FROM model_comparisons AS c
    LEFT JOIN metrics AS m USING (metric)
    WHERE c.difference IS NOT NULL
)
SELECT
    model                                      AS ahead,
    other_model                                AS behind,
    metric,
    n_images,
    direction * difference                     AS margin,
    least(direction * ci_low, direction * ci_high)    AS margin_ci_low,
    greatest(direction * ci_low, direction * ci_high) AS margin_ci_high,
    p_value,
    verdict,
    verdict = 'better'                         AS significant
FROM oriented
QUALIFY row_number() OVER (
    PARTITION BY least(model, other_model), greatest(model, other_model), metric
    ORDER BY direction * difference DESC, model
) = 1
ORDER BY metric, margin DESC, ahead, behind
