-- One row per model, scope (held_out: pooled over the held-out batches; batch: one batch) and attribute whose largest slice gap was tested: the best and worst values with their micro F1 and intervals, the permutation p-value, its Holm-adjusted p-value and whether it is significant.
-- An attribute with fewer than two slices of min_slice_images images is not tested and has no row here
-- (its slices are in slice_scores / held_out_slice_scores with their counts). Held-out rows first,
-- then by adjusted p-value: the gaps most worth a look at the top.
WITH slices AS (
    SELECT * FROM held_out_slice_scores
    UNION ALL
    SELECT * FROM slice_scores
)
SELECT
    worst.model,
    worst.scope,
    worst.batch,
    worst.is_training_batch,
    worst.attribute,
    worst.attribute_gap          AS gap,
    best.value                   AS best_value,
    best.n_images                AS best_n_images,
    best.f1_micro                AS best_f1_micro,
    best.f1_micro_ci_low         AS best_f1_micro_ci_low,
    best.f1_micro_ci_high        AS best_f1_micro_ci_high,
    worst.value                  AS worst_value,
    worst.n_images               AS worst_n_images,
    worst.f1_micro               AS worst_f1_micro,
    worst.f1_micro_ci_low        AS worst_f1_micro_ci_low,
    worst.f1_micro_ci_high       AS worst_f1_micro_ci_high,
    worst.gap_p_value            AS p_value,
    worst.gap_p_adjusted         AS p_adjusted,
    worst.gap_significant        AS significant,
    worst.correction,
    worst.n_values_rated,
    worst.n_attributes_tested,
    worst.n_permutations
FROM slices AS worst
JOIN slices AS best
    ON  best.model = worst.model
    AND best.scope = worst.scope
    AND coalesce(best.batch, '') = coalesce(worst.batch, '')
    AND best.attribute = worst.attribute
    AND best.gap_role = 'high'
WHERE worst.gap_role = 'low'
ORDER BY worst.scope = 'batch', worst.model, p_adjusted, gap DESC, worst.attribute, worst.batch
