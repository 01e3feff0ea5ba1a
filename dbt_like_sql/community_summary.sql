-- Communities with what their members look like in the graph, one row per model, variant and community
-- of the flat Leiden partition (level 0; communities.level 1.. hold the hierarchical Leiden levels).
WITH members AS (
    SELECT
        model,
        variant,
        community,
        avg(pagerank)         AS mean_pagerank,
        max(pagerank)         AS max_pagerank,
        count(DISTINCT batch) AS n_batches
    FROM centrality_table
    WHERE node_type = 'image'
    GROUP BY model, variant, community
)
SELECT
    c.model,
    c.variant,
    c.community,
    c.size,
    c.modularity,
    m.mean_pagerank,
    m.max_pagerank,
    coalesce(m.n_batches, 0) AS n_batches,
    c.top_labels,
    c.overrepresented_labels,
    c.label_lift,
    c.keywords,
    c.central_images,
    c.summary,
    c.summary_source
FROM communities AS c
LEFT JOIN members AS m
    ON m.model = c.model AND m.variant = c.variant AND m.community = c.community
WHERE c.level = 0
ORDER BY c.model, c.variant, c.size DESC, c.community
