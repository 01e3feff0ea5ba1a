"""Every warehouse table's DuckDB types and a line saying what a row is, declared once.

Parquet cannot type a column that holds only nulls (an empty table, an `error` column with no
error yet), and pandas writes such a column as type NULL, which breaks a union or a typed client.
The warehouse casts every column to the type declared here, so a table has the same types empty
or full, and counts are BIGINT everywhere. Column names must match the table rules' columns
(table_rules.py); tests/warehouse/test_schemas.py holds the two together.
"""

from __future__ import annotations

from collections.abc import Mapping

# slice_scores and held_out_slice_scores: the same columns, one batch or pooled over the held-out batches
_SLICE_SCORES = (
    "model VARCHAR, scope VARCHAR, batch VARCHAR, is_training_batch BOOLEAN, n_batches BIGINT, attribute VARCHAR, "
    "value VARCHAR, n_images BIGINT, rated BOOLEAN, f1_micro DOUBLE, f1_micro_ci_low DOUBLE, f1_micro_ci_high DOUBLE, "
    "f1_macro DOUBLE, f1_macro_ci_low DOUBLE, f1_macro_ci_high DOUBLE, hamming_loss DOUBLE, "
    "hamming_loss_ci_low DOUBLE, hamming_loss_ci_high DOUBLE, caption_cosine DOUBLE, caption_cosine_ci_low DOUBLE, "
    "caption_cosine_ci_high DOUBLE, labels VARCHAR[], label_recall DOUBLE[], label_recall_ci_low DOUBLE[], "
    "label_recall_ci_high DOUBLE[], gap_role VARCHAR, attribute_gap DOUBLE, gap_p_value DOUBLE, "
    "gap_p_adjusted DOUBLE, gap_significant BOOLEAN, n_values_rated BIGINT, n_attributes_tested BIGINT, "
    "correction VARCHAR, min_slice_images BIGINT, n_permutations BIGINT, n_boot BIGINT, seed BIGINT"
)

# name -> (what one row is, "column TYPE, ..." in the table's column order)
_DECLARED = {
    "prompts": (
        "One row per image of a batch: its prompt, scene spec and reference labels (the ground truth).",
        "image_id VARCHAR, batch VARCHAR, index BIGINT, prompt VARCHAR, spec_json VARCHAR, "
        "reference_labels VARCHAR[], reference_caption VARCHAR, seed BIGINT, source VARCHAR, source_file VARCHAR, "
        "cf_role VARCHAR, pair_id VARCHAR, original_image_id VARCHAR, cf_attribute VARCHAR, cf_from VARCHAR, "
        "cf_to VARCHAR",
    ),
    "synthetic_images": (
        "One row per image: where its bytes are stored (uri, relative to data_dir when under it) and its status.",
        "image_id VARCHAR, batch VARCHAR, sha256 VARCHAR, uri VARCHAR, width BIGINT, height BIGINT, "
        "source VARCHAR, status VARCHAR, error VARCHAR",
    ),
    "reference_audit": (
        "One row per image: which reference labels a drawn primitive backs.",
        "image_id VARCHAR, batch VARCHAR, scene_type VARCHAR, reference_labels VARCHAR[], "
        "drawn_primitives VARCHAR[], backed_labels VARCHAR[], unbacked_labels VARCHAR[], status VARCHAR, "
        "reason VARCHAR",
    ),
    "synthetic_comments": (
        "One row per synthetic social-media comment on an image, with its language, hashtags and emojis.",
        "comment_id VARCHAR, image_id VARCHAR, batch VARCHAR, lang VARCHAR, text VARCHAR, "
        "hashtags VARCHAR[], emojis VARCHAR[]",
    ),
    "mllm_captions": (
        "One row per model and image: labels and caption, successes and failures alike, and the model's kind.",
        "image_id VARCHAR, batch VARCHAR, model VARCHAR, backend VARCHAR, model_kind VARCHAR, "
        "labels VARCHAR[], label_scores_json VARCHAR, caption VARCHAR, raw_output VARCHAR, "
        "parse_status VARCHAR, error VARCHAR, latency_ms DOUBLE, input_tokens BIGINT, output_tokens BIGINT, "
        "cost_usd DOUBLE, cache_hit BOOLEAN, is_training_batch BOOLEAN, response_mode VARCHAR, "
        "n_dropped_labels BIGINT, flags VARCHAR[]",
    ),
    "caption_flags": (
        "One row per model and image: its caption's flags and how far it lies from the other models'.",
        "image_id VARCHAR, batch VARCHAR, model VARCHAR, flags VARCHAR[], similarity_to_others DOUBLE, "
        "others_agreement DOUBLE, n_other_captions BIGINT, far_status VARCHAR",
    ),
    "preprocessed_text": (
        "One row per text (caption or comment): cleaned, lemmatised and its language.",
        "text_id VARCHAR, image_id VARCHAR, batch VARCHAR, model VARCHAR, source VARCHAR, text VARCHAR, "
        "clean_text VARCHAR, lemmas VARCHAR, lang VARCHAR",
    ),
    "embeddings": (
        "One row per text: its embedding vector.",
        "text_id VARCHAR, image_id VARCHAR, batch VARCHAR, model VARCHAR, source VARCHAR, embedder VARCHAR, "
        "dim BIGINT, vector DOUBLE[]",
    ),
    "eval_scores": (
        "One row per model and batch: every registered metric against the reference labels.",
        "model VARCHAR, batch VARCHAR, is_training_batch BOOLEAN, n_images BIGINT, n_scored BIGINT, "
        "n_failed BIGINT, f1_micro DOUBLE, f1_macro DOUBLE, precision_micro DOUBLE, recall_micro DOUBLE, "
        "subset_accuracy DOUBLE, sample_accuracy DOUBLE, hamming_loss DOUBLE, caption_cosine DOUBLE, "
        "caption_bertscore DOUBLE, precision_macro DOUBLE, recall_macro DOUBLE, f1_micro_ci_low DOUBLE, "
        "f1_micro_ci_high DOUBLE, f1_macro_ci_low DOUBLE, f1_macro_ci_high DOUBLE, "
        "subset_accuracy_ci_low DOUBLE, subset_accuracy_ci_high DOUBLE, hamming_loss_ci_low DOUBLE, "
        "hamming_loss_ci_high DOUBLE, caption_cosine_ci_low DOUBLE, caption_cosine_ci_high DOUBLE, "
        "caption_bertscore_ci_low DOUBLE, caption_bertscore_ci_high DOUBLE",
    ),
    "image_scores": (
        "One row per model and image: how its labels and caption compare with the reference.",
        "model VARCHAR, batch VARCHAR, image_id VARCHAR, is_training_batch BOOLEAN, reference_labels VARCHAR[], "
        "labels VARCHAR[], exact_match BOOLEAN, jaccard DOUBLE, hamming DOUBLE, caption_cosine DOUBLE, "
        "caption_bertscore DOUBLE",
    ),
    "per_label_scores": (
        "One row per model, batch and label: TP/FP/FN/TN and precision, recall, F1.",
        "model VARCHAR, batch VARCHAR, is_training_batch BOOLEAN, label VARCHAR, support BIGINT, tp BIGINT, "
        "fp BIGINT, fn BIGINT, tn BIGINT, precision DOUBLE, recall DOUBLE, f1 DOUBLE",
    ),
    "metric_intervals": (
        "One row per model and metric: the estimate over held-out images with a bootstrap 95% interval.",
        "model VARCHAR, metric VARCHAR, n_images BIGINT, n_batches BIGINT, estimate DOUBLE, ci_low DOUBLE, "
        "ci_high DOUBLE, n_boot BIGINT, seed BIGINT",
    ),
    "model_comparisons": (
        "One row per model, other model and metric: the paired-bootstrap difference and its verdict.",
        "model VARCHAR, other_model VARCHAR, metric VARCHAR, n_images BIGINT, difference DOUBLE, "
        "ci_low DOUBLE, ci_high DOUBLE, p_value DOUBLE, verdict VARCHAR, n_boot BIGINT, seed BIGINT",
    ),
    "agreement": (
        "One row per comparison and label: inter-rater agreement between models (and humans).",
        "batch VARCHAR, comparison VARCHAR, label VARCHAR, raters VARCHAR, n_raters BIGINT, n_items BIGINT, "
        "n_items_complete BIGINT, percent_agreement DOUBLE, fleiss_kappa DOUBLE, krippendorff_alpha DOUBLE",
    ),
    "counterfactual_scores": (
        "One row per model, counterfactual batch and attribute: label flip rate, recall difference and caption "
        "shift over its pairs, each with a bootstrap 95% interval.",
        "model VARCHAR, batch VARCHAR, attribute VARCHAR, n_pairs BIGINT, n_scored BIGINT, n_failed BIGINT, "
        "n_reference_unchanged BIGINT, n_flipped BIGINT, flip_rate DOUBLE, flip_rate_ci_low DOUBLE, "
        "flip_rate_ci_high DOUBLE, recall_original DOUBLE, recall_counterfactual DOUBLE, recall_difference DOUBLE, "
        "recall_difference_ci_low DOUBLE, recall_difference_ci_high DOUBLE, caption_shift DOUBLE, "
        "caption_shift_ci_low DOUBLE, caption_shift_ci_high DOUBLE, most_flipped VARCHAR, note VARCHAR, "
        "n_boot BIGINT, seed BIGINT",
    ),
    "slice_scores": (
        "One row per model, batch, attribute and value: the slice's scores with intervals, and its attribute's "
        "largest gap with a Holm-adjusted permutation p-value.",
        _SLICE_SCORES,
    ),
    "held_out_slice_scores": (
        "One row per model, attribute and value over the held-out batches: the slice's scores with intervals, and "
        "its attribute's largest gap with a Holm-adjusted permutation p-value.",
        _SLICE_SCORES,
    ),
    "prompt_variant_captions": (
        "One row per model, prompt variant and image: labels and caption under a reworded prompt (baseline: a threshold).",
        "image_id VARCHAR, batch VARCHAR, model VARCHAR, backend VARCHAR, model_kind VARCHAR, "
        "labels VARCHAR[], label_scores_json VARCHAR, caption VARCHAR, raw_output VARCHAR, "
        "parse_status VARCHAR, error VARCHAR, latency_ms DOUBLE, input_tokens BIGINT, output_tokens BIGINT, "
        "cost_usd DOUBLE, cache_hit BOOLEAN, is_training_batch BOOLEAN, response_mode VARCHAR, "
        "n_dropped_labels BIGINT, flags VARCHAR[], prompt_variant VARCHAR, varied VARCHAR, variant_language VARCHAR",
    ),
    "prompt_sensitivity": (
        "One row per model and prompt variant: its F1, and the model's agreement (Krippendorff's alpha) and F1 "
        "spread across variants, with intervals.",
        "model VARCHAR, prompt_variant VARCHAR, varied VARCHAR, language VARCHAR, threshold DOUBLE, n_images BIGINT, "
        "n_failed BIGINT, f1_micro DOUBLE, f1_micro_ci_low DOUBLE, f1_micro_ci_high DOUBLE, is_best BOOLEAN, "
        "n_variants BIGINT, krippendorff_alpha DOUBLE, alpha_ci_low DOUBLE, alpha_ci_high DOUBLE, f1_spread DOUBLE, "
        "f1_spread_ci_low DOUBLE, f1_spread_ci_high DOUBLE, f1_variant_mean DOUBLE, f1_variant_mean_ci_low DOUBLE, "
        "f1_variant_mean_ci_high DOUBLE, best_variant VARCHAR, n_boot BIGINT, seed BIGINT",
    ),
    "drift_reference": (
        "One row per model and kind: the training batch's label distribution or mean caption vector.",
        "reference_batch VARCHAR, model VARCHAR, kind VARCHAR, profile DOUBLE[], n BIGINT",
    ),
    "drift": (
        "One row per batch, model and kind: distance from the reference batch and whether it drifted.",
        "batch VARCHAR, reference_batch VARCHAR, model VARCHAR, kind VARCHAR, metric VARCHAR, value DOUBLE, "
        "threshold DOUBLE, drifted BOOLEAN, n_batch BIGINT, n_reference BIGINT",
    ),
    "review_queue": (
        "One row per image worth a human look: priority, disagreement and its image (image_uri).",
        "batch VARCHAR, image_id VARCHAR, rank BIGINT, priority DOUBLE, disagreement DOUBLE, "
        "baseline_uncertainty DOUBLE, n_models BIGINT, model_labels_json VARCHAR, image_uri VARCHAR",
    ),
    "human_reviews": (
        "One row per image and reviewer: the labels, relevance and flags a human gave.",
        "review_id VARCHAR, image_id VARCHAR, batch VARCHAR, reviewer VARCHAR, labels VARCHAR[], "
        "relevance BIGINT, flags VARCHAR[], notes VARCHAR, source_file VARCHAR, source_sha256 VARCHAR",
    ),
    "review_inbox": (
        "One row per image and reviewer, every batch: the accepted reviews of the inbox.",
        "review_id VARCHAR, image_id VARCHAR, batch VARCHAR, reviewer VARCHAR, labels VARCHAR[], "
        "relevance BIGINT, flags VARCHAR[], notes VARCHAR, source_file VARCHAR, source_sha256 VARCHAR",
    ),
    "human_eval_scores": (
        "One row per model: its scores against the human reviews.",
        "model VARCHAR, batch VARCHAR, n_reviewed BIGINT, n_scored BIGINT, n_reviews BIGINT, "
        "mean_relevance DOUBLE, subset_accuracy DOUBLE, f1_micro DOUBLE, f1_macro DOUBLE, hamming_loss DOUBLE, "
        "f1_micro_ci_low DOUBLE, f1_micro_ci_high DOUBLE, f1_micro_vs_reference DOUBLE",
    ),
    "baseline_versions": (
        "One row per baseline checkpoint version: retrained on human corrections, scored next to version 1.",
        "model VARCHAR, version BIGINT, fingerprint VARCHAR, checkpoint VARCHAR, n_train BIGINT, "
        "n_corrections BIGINT, trained BOOLEAN, n_eval BIGINT, f1_micro DOUBLE, f1_micro_ci_low DOUBLE, "
        "f1_micro_ci_high DOUBLE, f1_macro DOUBLE, difference_vs_v1 DOUBLE, difference_ci_low DOUBLE, "
        "difference_ci_high DOUBLE, verdict_vs_v1 VARCHAR",
    ),
    "baseline_models": (
        "One row per trained baseline: its checkpoint (relative to data_dir) and training run.",
        "model VARCHAR, fingerprint VARCHAR, checkpoint VARCHAR, train_batch VARCHAR, n_train BIGINT, "
        "trained BOOLEAN, train_seconds DOUBLE, final_loss DOUBLE, device VARCHAR",
    ),
    "semantic_graph": (
        "One row per model, variant and edge of the image graph, with each layer's similarity.",
        "model VARCHAR, variant VARCHAR, source VARCHAR, target VARCHAR, weight DOUBLE, "
        "visual_similarity DOUBLE, label_jaccard DOUBLE, caption_similarity DOUBLE, comment_similarity DOUBLE",
    ),
    "centrality_table": (
        "One row per model, variant and node: centralities, community and layout position.",
        "model VARCHAR, variant VARCHAR, node VARCHAR, node_type VARCHAR, batch VARCHAR, degree BIGINT, "
        "strength DOUBLE, betweenness DOUBLE, eigenvector DOUBLE, pagerank DOUBLE, closeness DOUBLE, "
        "community BIGINT, hierarchy BIGINT[], x DOUBLE, y DOUBLE",
    ),
    "communities": (
        "One row per model, variant, level and Leiden community: its labels, keywords and summary.",
        "model VARCHAR, variant VARCHAR, level BIGINT, community BIGINT, parent BIGINT, size BIGINT, "
        "modularity DOUBLE, top_labels VARCHAR[], overrepresented_labels VARCHAR[], label_lift DOUBLE[], "
        "keywords VARCHAR[], central_images VARCHAR[], summary VARCHAR, summary_source VARCHAR, "
        "summary_error VARCHAR",
    ),
    "network_comparison": (
        "One row per variant and model pair: how alike their graphs' communities and top nodes are.",
        "variant VARCHAR, model_a VARCHAR, model_b VARCHAR, n_shared BIGINT, ari DOUBLE, nmi DOUBLE, "
        "top_image_overlap DOUBLE, top_label_overlap DOUBLE",
    ),
    "metrics": (
        "One row per registered metric (evaluation/metric_registry.py): its direction and range.",
        "metric VARCHAR, lower_is_better BOOLEAN, low DOUBLE, high DOUBLE, resampled BOOLEAN, headline BOOLEAN",
    ),
    "image_quality": (
        "One row per image: resolution, sharpness, brightness, contrast, colourfulness, perceptual hash.",
        "image_id VARCHAR, batch VARCHAR, sha256 VARCHAR, status VARCHAR, error VARCHAR, width BIGINT, "
        "height BIGINT, megapixels DOUBLE, sharpness DOUBLE, brightness DOUBLE, contrast DOUBLE, "
        "colourfulness DOUBLE, phash VARCHAR, n_near_duplicates BIGINT, nearest_image_id VARCHAR, "
        "nearest_distance DOUBLE",
    ),
    "near_duplicates": (
        "One row per pair of near-duplicate images (perceptual hashes a few bits apart), within or across batches.",
        "image_a VARCHAR, batch_a VARCHAR, image_b VARCHAR, batch_b VARCHAR, distance BIGINT, scope VARCHAR",
    ),
    "dataset_balance": (
        "One row per batch, attribute and value: its share against the scenario's target, JS and chi-square.",
        "batch VARCHAR, attribute VARCHAR, value VARCHAR, unit VARCHAR, target_source VARCHAR, status VARCHAR, "
        "n BIGINT, observed_count BIGINT, observed_share DOUBLE, target_share DOUBLE, expected_count DOUBLE, "
        "js_distance DOUBLE, chi_square DOUBLE, dof BIGINT, p_value DOUBLE, p_adjusted DOUBLE, exceeds BOOLEAN",
    ),
    "dataset_export": (
        "One row per image of the pipeline: whether the shared dataset holds it (file_name) or why not.",
        "image_id VARCHAR, batch VARCHAR, included BOOLEAN, reason VARCHAR, file_name VARCHAR, sha256 VARCHAR, "
        "n_captions BIGINT, n_comments BIGINT",
    ),
    "image_divergence": (
        "One row per variant and image: how differently the models place it in their graphs.",
        "variant VARCHAR, image_id VARCHAR, n_models BIGINT, divergence DOUBLE, divergence_rank BIGINT",
    ),
    "image_provenance": (
        "One row per image: its provenance (c2pa-verified, declared-synthetic, declared-camera, none), claim and "
        "C2PA validation state, XMP source type, software and camera tags, and whether a landing image is flagged.",
        "image_id VARCHAR, batch VARCHAR, sha256 VARCHAR, source VARCHAR, provenance VARCHAR, "
        "declares_generated BOOLEAN, ground_truth VARCHAR, digital_source_type VARCHAR, c2pa_state VARCHAR, "
        "c2pa_trusted BOOLEAN, c2pa_claim VARCHAR, c2pa_failures VARCHAR[], xmp_source_type VARCHAR, "
        "software VARCHAR, camera VARCHAR, signals VARCHAR[], flagged BOOLEAN, error VARCHAR",
    ),
    "ai_image_detector": (
        "One row per image of every batch: the AI-image detector's P(generated), its split and ground truth.",
        "image_id VARCHAR, batch VARCHAR, sha256 VARCHAR, source VARCHAR, provenance VARCHAR, ground_truth VARCHAR, "
        "split VARCHAR, p_generated DOUBLE, predicted_generated BOOLEAN, status VARCHAR, fingerprint VARCHAR",
    ),
    "ai_detector_evaluation": (
        "One row per metric: the AI-image detector on held-out images against provenance, with a 95% interval.",
        "metric VARCHAR, estimate DOUBLE, ci_low DOUBLE, ci_high DOUBLE, n_images BIGINT, n_generated BIGINT, "
        "n_camera BIGINT, n_boot BIGINT, seed BIGINT, note VARCHAR",
    ),
}

# Columns holding a file path: stored relative to data_dir in the warehouse when they point under it.
PATH_COLUMNS = ("uri", "image_uri", "checkpoint", "source_file")


def _parse(name: str, spec: str) -> dict[str, str]:
    columns: dict[str, str] = {}
    for part in spec.split(","):
        column, _, type_ = part.strip().partition(" ")
        if not type_ or column in columns:
            raise ValueError(f"table_schemas.py: table {name!r}: bad or repeated column {part.strip()!r}")
        columns[column] = type_.strip()
    return columns


SCHEMAS: Mapping[str, Mapping[str, str]] = {name: _parse(name, spec) for name, (_, spec) in _DECLARED.items()}
DESCRIPTIONS: Mapping[str, str] = {name: text for name, (text, _) in _DECLARED.items()}
