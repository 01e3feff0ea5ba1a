-- Communities with what their members look like in the graph, one row per model and community.
WITH members AS (
    SELECT
        model,
        community,
        avg(pagerank)         AS mean_pagerank,
        max(pagerank)         AS max_pagerank,
        count(DISTINCT batch) AS n_batches
    FROM centrality_table
    GROUP BY model, community
)
SELECT
    c.model,
    c.community,
    c.size,
    m.mean_pagerank,
    m.max_pagerank,
    coalesce(m.n_batches, 0) AS n_batches,
    c.top_labels,
    c.keywords,
    c.central_images,
    c.summary
FROM communities AS c
LEFT JOIN members AS m
    ON m.model = c.model AND m.community = c.community
ORDER BY c.model, c.size DESC, c.community
