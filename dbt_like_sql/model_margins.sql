-- By how much each model beats another: one row per pair of models and metric, the leader first, with the paired-bootstrap interval and verdict.
-- From model_comparisons, which holds each pair twice (once from each side): the row kept is the
-- one from the side that is ahead, so `margin` >= 0 and `verdict` reads "better" when the leader's
-- margin is beyond chance (its interval excludes zero), "no clear difference" when it is not.
SELECT
    model                                  AS ahead,
    other_model                            AS behind,
    metric,
    n_images,
    difference                             AS margin,
    ci_low                                 AS margin_ci_low,
    ci_high                                AS margin_ci_high,
    p_value,
    verdict,
    verdict = 'better'                     AS significant
FROM model_comparisons
WHERE difference IS NOT NULL
QUALIFY row_number() OVER (
    PARTITION BY least(model, other_model), greatest(model, other_model), metric
    ORDER BY difference DESC, model
) = 1
ORDER BY metric, margin DESC, ahead, behind
