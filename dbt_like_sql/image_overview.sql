-- One row per image and model: what was asked, what the model saw and where it landed in the graph.
SELECT
    c.model,
    c.image_id,
    c.batch,
    i.uri,
    p.reference_labels,
    c.labels AS predicted_labels,
    c.caption,
    c.parse_status,
    g.variant AS graph_variant,
    g.community,
    g.pagerank
FROM mllm_captions AS c
LEFT JOIN synthetic_images AS i
    ON i.image_id = c.image_id
LEFT JOIN prompts AS p
    ON p.image_id = c.image_id
LEFT JOIN centrality_table AS g
    ON g.model = c.model AND g.node = c.image_id AND g.node_type = 'image'
    -- the richest image variant: variant names grow as layers are added
    AND g.variant = (SELECT max(variant) FROM centrality_table WHERE node_type = 'image')
ORDER BY c.model, c.batch, c.image_id
