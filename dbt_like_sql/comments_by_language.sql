-- How comments differ by language: one row per language, with volume, length, and the hashtags and emojis each uses most.
WITH comments AS (
    SELECT
        *,
        length(text)                              AS n_chars,
        len(string_split_regex(trim(text), '\s+')) AS n_words
    FROM synthetic_comments
),
hashtags AS (
    SELECT lang, tag, count(*) AS n
    FROM (SELECT lang, unnest(hashtags) AS tag FROM comments)
    GROUP BY lang, tag
),
emojis AS (
    SELECT lang, emoji, count(*) AS n
    FROM (SELECT lang, unnest(emojis) AS emoji FROM comments)
    GROUP BY lang, emoji
),
per_language AS (
    SELECT
        lang,
        count(*)                                  AS n_comments,
        count(DISTINCT image_id)                  AS n_images,
        count(DISTINCT batch)                     AS n_batches,
        avg(n_chars)                              AS mean_chars,
        avg(n_words)                              AS mean_words,
        avg(len(hashtags))                        AS mean_hashtags,
        avg(len(emojis))                          AS mean_emojis,
        avg(CASE WHEN len(emojis) > 0 THEN 1.0 ELSE 0.0 END) AS share_with_emoji
    FROM comments
    GROUP BY lang
)
SELECT
    l.lang,
    l.n_comments,
    l.n_comments / sum(l.n_comments) OVER () AS share_of_comments,
    l.n_images,
    l.n_batches,
    l.mean_chars,
    l.mean_words,
    l.mean_hashtags,
    l.mean_emojis,
    l.share_with_emoji,
    coalesce(
        (SELECT list(tag ORDER BY n DESC, tag)[1:5] FROM hashtags AS h WHERE h.lang = l.lang), []::VARCHAR[]
    ) AS top_hashtags,
    coalesce(
        (SELECT list(emoji ORDER BY n DESC, emoji)[1:5] FROM emojis AS e WHERE e.lang = l.lang), []::VARCHAR[]
    ) AS top_emojis
FROM per_language AS l
ORDER BY l.n_comments DESC, l.lang
