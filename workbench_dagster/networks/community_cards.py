"""A readable card per community: its labels, its caption keywords, its most central images.

`community_table` writes the cards of every image variant and hierarchy level; narratives.py
may later replace the template summary with a model-written one.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import normalize

from workbench_dagster.networks.adjacency import network_from_edges
from workbench_dagster.networks.communities import modularity
from workbench_dagster.networks.tables import COMMUNITY_COLUMNS, SUMMARY_COLUMNS

# Captions come in English and Spanish; sklearn only ships an English list. Packed by hand: one word a
# line would make the list most of this module.
# fmt: off
SPANISH_STOP_WORDS = frozenset([
    "a", "al", "algo", "algunas", "algunos", "ante", "antes", "como", "con", "contra", "cual", "cuando", "de",
    "del", "desde", "donde", "durante", "e", "el", "él", "ella", "ellas", "ellos", "en", "entre", "era", "es",
    "esa", "esas", "ese", "eso", "esos", "esta", "está", "están", "estas", "este", "esto", "estos", "fue",
    "ha", "hay", "la", "las", "le", "les", "lo", "los", "más", "me", "mi", "muy", "no", "nos", "o", "otra",
    "otras", "otro", "otros", "para", "pero", "poco", "por", "porque", "que", "qué", "se", "sea", "ser", "si",
    "sí", "sin", "sobre", "son", "su", "sus", "también", "tiene", "tienen", "todo", "todos", "tu", "un",
    "una", "unas", "uno", "unos", "y", "ya", "imagen", "foto", "fotografía",
])
# fmt: on
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | SPANISH_STOP_WORDS)


def _ctfidf_keywords(texts_by_community: list[str], top_n: int) -> list[list[str]]:
    """c-TF-IDF (BERTopic): words frequent in one community and rare across the others."""
    vectorizer = CountVectorizer(stop_words=STOP_WORDS, token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
    try:
        counts = vectorizer.fit_transform(texts_by_community)
    except ValueError:  # every text empty or only stop words
        return [[] for _ in texts_by_community]
    tf = normalize(counts, norm="l1").toarray()
    term_totals = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / counts.shape[0]
    scores = tf * np.log1p(avg_words / term_totals)
    vocab = vectorizer.get_feature_names_out()
    keywords = []
    for row in scores:
        best = sorted(np.flatnonzero(row), key=lambda j: (-row[j], vocab[j]))[:top_n]
        keywords.append([str(vocab[j]) for j in best])
    return keywords


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def summarize_communities(
    partition: dict[str, int],
    centrality: pd.DataFrame,
    node_labels: dict[str, list[str]],
    node_texts: dict[str, str],
    top_n: int = 5,
) -> pd.DataFrame:
    """A readable card per community: what it is labelled, what its captions say, who is central.

    Labels are ranked by count, with lift against the whole corpus breaking ties so a
    distinctive label beats one that is everywhere.
    """
    if not partition:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    members: dict[int, list[str]] = {}
    for node, community in partition.items():
        members.setdefault(community, []).append(node)
    communities = sorted(members)
    corpus = Counter(lab for node in partition for lab in set(node_labels.get(node, [])))
    pagerank = dict(zip(centrality["node"], centrality["pagerank"])) if len(centrality) else {}
    keywords = _ctfidf_keywords([" ".join(node_texts.get(v, "") for v in members[c]) for c in communities], top_n)
    rows = []
    for community, words in zip(communities, keywords):
        nodes, size = members[community], len(members[community])
        counts = Counter(lab for node in nodes for lab in set(node_labels.get(node, [])))
        lift = {lab: (cnt / size) / (corpus[lab] / len(partition)) for lab, cnt in counts.items()}
        top_labels = sorted(counts, key=lambda lab: (-counts[lab], -lift[lab], lab))[:top_n]
        # Over-represented: carried by at least two members (one image proves nothing) and
        # at least 1.5 times as common here as in the corpus.
        over = sorted(
            (lab for lab in counts if counts[lab] >= min(2, size) and lift[lab] >= 1.5),
            key=lambda lab: (-lift[lab], -counts[lab], lab),
        )[:top_n]
        central = sorted(nodes, key=lambda v: (-pagerank.get(v, 0.0), v))[:top_n]
        summary = f"Community {community}: {size} image{'s' if size != 1 else ''}, " + (
            f"mostly {_join(top_labels[:3])}" if top_labels else "no labels"
        )
        summary += f"; keywords: {', '.join(words)}." if words else "."
        if over:
            summary += " Unusually often " + _join([f"{lab} ({lift[lab]:.1f}x)" for lab in over[:3]]) + "."
        if central:
            summary += f" Most central: {_join(central[:3])}."
        rows.append(
            [
                community,
                size,
                top_labels,
                over,
                [round(float(lift[lab]), 4) for lab in over],
                words,
                central,
                summary,
            ]
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _flagged_images(captions: pd.DataFrame) -> set[str]:
    """Images whose caption is flagged; a frame without `flags` (built by hand, not by mllm_captions) has none."""
    if "flags" not in captions.columns:
        return set()
    return {i for i, flags in zip(captions["image_id"], captions["flags"]) if flags is not None and len(flags)}


def community_table(
    model: str,
    centrality: pd.DataFrame,
    captions: pd.DataFrame,
    texts: pd.DataFrame,
    edges: pd.DataFrame | None = None,
    top_n: int = 5,
    keywords_from_flagged: bool = False,
) -> pd.DataFrame:
    """A card per community of every image variant: level 0 is the flat Leiden partition, 1.. the hierarchy.

    Modularity is the whole partition's at that level (the same on every row of a level). A flagged
    caption (its row's `flags`: answer_flags.py, and batch_flags.py's once caption_flags has been
    merged in with `with_batch_flags`) gives no keywords unless `keywords_from_flagged`: an
    injected "label everything protest" would otherwise name the community it lands in.
    """
    node_labels = {i: list(lab) for i, lab in zip(captions["image_id"], captions["labels"])}
    usable = texts[texts["source"].isin(["caption", "comment"])]
    if not keywords_from_flagged:
        flagged = _flagged_images(captions)
        usable = usable[~((usable["source"] == "caption") & usable["image_id"].isin(flagged))]
    node_texts = usable.groupby("image_id")["lemmas"].apply(lambda s: " ".join(x for x in s if x)).to_dict()
    frames = []
    images = centrality[centrality["node_type"] == "image"]
    for variant, table in images.groupby("variant", sort=False):
        graph = (
            network_from_edges(list(table["node"]), edges[edges["variant"] == variant])
            if edges is not None
            else None
        )
        partitions = [{n: int(c) for n, c in zip(table["node"], table["community"]) if pd.notna(c)}]
        depth = max((len(h) for h in table["hierarchy"]), default=0)
        partitions += [
            {n: int(h[level]) for n, h in zip(table["node"], table["hierarchy"])} for level in range(depth)
        ]
        for level, partition in enumerate(partitions):
            summary = summarize_communities(partition, table, node_labels, node_texts, top_n=top_n)
            if level >= 2:
                above = partitions[level - 1]
                first = {c: n for n, c in reversed(list(partition.items()))}
                summary["parent"] = summary["community"].map(lambda c, above=above, first=first: above[first[c]])
            else:
                summary["parent"] = None
            summary["level"] = level
            summary["modularity"] = modularity(graph, partition) if graph is not None else np.nan
            summary["variant"], summary["model"] = variant, model
            summary["summary_source"], summary["summary_error"] = "template", None  # narratives.py may replace
            frames.append(summary)
    if not frames:
        return pd.DataFrame(columns=COMMUNITY_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[COMMUNITY_COLUMNS]
    out["parent"] = out["parent"].astype("Int64")
    return out
