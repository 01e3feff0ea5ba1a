"""A batch's distribution of every spec attribute and reference label against the scenario's targets
(targets.py), with a Jensen-Shannon distance and a chi-square goodness-of-fit test per attribute.

Two numbers because they answer different questions: the JS distance (base 2, in [0, 1]) says how far
the batch is from the target whatever its size; the chi-square p-value says whether that distance is
more than a batch of this size shows by chance (a 48-image batch sits about 0.1-0.2 from a uniform
target of 5-10 values by sampling alone). An attribute `exceeds` when both say so: distance above the
threshold and p, Holm-adjusted over the batch's attributes, below alpha.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from workbench_dagster.dataset.targets import Attribute, attributes
from workbench_dagster.scenario.scenario_file import Scenario

BALANCE_COLUMNS = [
    "batch",
    "attribute",
    "value",
    "unit",
    "target_source",
    "status",
    "n",
    "observed_count",
    "observed_share",
    "target_share",
    "expected_count",
    "js_distance",
    "chi_square",
    "dof",
    "p_value",
    "p_adjusted",
    "exceeds",
]
STATUSES = ["ok", "not_recorded", "no_spec"]


def _counts(attribute: Attribute, specs: list[dict], labels: list[list[str]]) -> tuple[Counter, int]:
    """Value counts and n: images for a single value, images holding each value for `multi`, and
    persons for a demographic recorded per person (a list)."""
    counts: Counter = Counter()
    n = 0
    for spec, own in zip(specs, labels):
        value = attribute.observe(spec, own) if attribute.observe else None
        if value is None:
            continue
        if attribute.multi:
            counts.update(set(value))
            n += 1
        elif isinstance(value, list | tuple):
            counts.update(str(v) for v in value)
            n += len(value)
        else:
            counts[str(value)] += 1
            n += 1
    return counts, n


def _statistic(counts: np.ndarray, n: int, share: np.ndarray, free: np.ndarray, multi: bool) -> np.ndarray:
    """Pearson's statistic over the last axis: counts (..., k) against shares; binomial terms if `multi`."""
    o, p = counts[..., free], share[free]
    return np.sum((o - n * p) ** 2 / (n * p * ((1 - p) if multi else 1)), axis=-1)


def _simulated(n: int, share: np.ndarray, multi: bool, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if multi:  # each value independently, as the generator draws elements
        return rng.binomial(n, share, size=(draws, len(share))).astype(float)
    return rng.multinomial(n, share, size=draws).astype(float)


def fit(
    counts: np.ndarray, target: np.ndarray, n: int, multi: bool, draws: int = 4000, seed: int = 0
) -> tuple[float, float, int, float]:
    """(JS distance, chi-square, degrees of freedom, p-value) of observed counts against target shares.

    One draw per unit: Pearson's goodness of fit over the values the target allows, k - 1 dof. Several
    values per image: a binomial term per value, (o - n p)^2 / (n p (1 - p)), summed over values with
    0 < p < 1 (k dof), which treats the values as independent, as the generator draws elements. A value
    the target rules out (p = 0) but the batch holds makes the chi-square infinite and p 0.

    The chi-square distribution is trusted only when every expected count is at least 5 (Cochran's
    rule); below that (a small batch, a rare value) the p-value is the share of `draws` seeded
    simulations of the target at this n whose statistic is at least the observed one."""
    share = target if multi else (target / target.sum() if target.sum() > 0 else target)
    js = float(jensenshannon(counts, target, base=2)) if counts.sum() > 0 and target.sum() > 0 else float("nan")
    if multi:
        impossible = ((share == 0) & (counts > 0)) | ((share == 1) & (counts < n))
        free = (share > 0) & (share < 1)
        dof = int(free.sum())
    else:
        impossible = (share == 0) & (counts > 0)
        free = share > 0
        dof = int(free.sum()) - 1
    if impossible.any():
        return js, float("inf"), dof, 0.0
    chi = float(_statistic(counts, n, share, free, multi))
    if dof <= 0:
        return js, chi, dof, float("nan")
    expected = n * share[free]
    if multi:
        expected = np.minimum(expected, n - expected)
    if expected.min() >= 5:
        return js, chi, dof, float(stats.chi2.sf(chi, dof))
    simulated = _statistic(_simulated(n, share, multi, draws, seed), n, share, free, multi)
    return js, chi, dof, float((1 + np.sum(simulated >= chi - 1e-9)) / (1 + draws))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: the batch tests every attribute at once, so one of a dozen falling
    under alpha by chance must not make the batch look off balance. NaN stays NaN."""
    order = [i for i in np.argsort(p_values) if not np.isnan(p_values[i])]
    adjusted, running = [float("nan")] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _rows(batch: str, attribute: Attribute, specs, labels) -> list[dict]:
    counts, n = _counts(attribute, specs, labels)
    values = list(attribute.target) + sorted(set(counts) - set(attribute.target))
    base = {"batch": batch, "attribute": attribute.name, "target_source": attribute.source, "n": n}
    base["unit"] = "image (several values)" if attribute.multi else attribute.unit
    if not specs or n == 0:
        status = "no_spec" if not specs else "not_recorded"
        return [
            {**base, "value": v, "status": status, "observed_count": 0, "target_share": attribute.target.get(v)}
            for v in values
        ]
    observed = np.array([counts.get(v, 0) for v in values], dtype=float)
    target = np.array([attribute.target.get(v, 0.0) for v in values], dtype=float)
    js, chi, dof, p = fit(observed, target, n, attribute.multi)
    return [
        {
            **base,
            "value": v,
            "status": "ok",
            "observed_count": int(o),
            "observed_share": o / n,
            "target_share": t,
            "expected_count": t * n,
            "js_distance": js,
            "chi_square": chi,
            "dof": dof,
            "p_value": p,
        }
        for v, o, t in zip(values, observed, target)
    ]


def dataset_balance(
    scenario: Scenario, prompts: pd.DataFrame, batch: str, max_js: float, alpha: float
) -> pd.DataFrame:
    """One row per (attribute, value) for the batch's prompts with a spec (a counterfactual batch's
    originals only: each redraw repeats its original with one attribute changed on purpose, not a
    draw from the targets); a landing batch (no spec) gets
    its rows with status `no_spec` and no statistics, and a demographic the spec does not record gets
    `not_recorded`: the target is listed, nothing is claimed about the images."""
    with_spec = prompts[prompts["spec_json"].notna()] if len(prompts) else prompts
    if "cf_role" in with_spec.columns:  # a counterfactual redraw repeats its original's spec: count it once
        with_spec = with_spec[with_spec["cf_role"] != "counterfactual"]
    specs = [json.loads(s) for s in with_spec["spec_json"]] if len(with_spec) else []
    labels = [list(x) for x in with_spec["reference_labels"]] if len(with_spec) else []
    rows = [r for a in attributes(scenario) for r in _rows(batch, a, specs, labels)]
    df = pd.DataFrame(rows, columns=BALANCE_COLUMNS)
    first = df.groupby("attribute", sort=False)["p_value"].first()
    adjusted = dict(zip(first.index, holm([float(p) for p in first.fillna(np.nan)])))
    df["p_adjusted"] = df["attribute"].map(adjusted)
    for column in ("n", "observed_count", "dof"):
        df[column] = pd.to_numeric(df[column]).astype("Int64")
    for column in (
        "observed_share",
        "target_share",
        "expected_count",
        "js_distance",
        "chi_square",
        "p_value",
        "p_adjusted",
    ):
        df[column] = pd.to_numeric(df[column]).astype("float64")
    df["exceeds"] = ((df["js_distance"] > max_js) & (df["p_adjusted"] < alpha)).fillna(False).astype(bool)
    return df


def attribute_summary(balance: pd.DataFrame) -> pd.DataFrame:
    """One row per attribute: its status, n, JS distance, chi-square, p-value and whether it exceeds."""
    columns = ["attribute", "status", "n", "js_distance", "chi_square", "dof", "p_value", "p_adjusted", "exceeds"]
    if not len(balance):
        return pd.DataFrame(columns=columns)
    return balance.groupby("attribute", sort=False).first().reset_index()[columns]


def balance_chart(balance: pd.DataFrame, title: str):
    """Observed against target shares, one small panel per attribute, the distance in each title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = balance[balance["status"] == "ok"]
    names = list(dict.fromkeys(shown["attribute"]))
    cols = 4
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        part = shown[shown["attribute"] == name]
        x = np.arange(len(part))
        ax.bar(x - 0.2, part["observed_share"], 0.4, label="batch", color="#7b2d8e")
        ax.bar(x + 0.2, part["target_share"], 0.4, label="target", color="#bbbbbb")
        ax.set_xticks(x, [str(v)[:10] for v in part["value"]], rotation=60, fontsize=6, ha="right")
        flag = " !" if bool(part["exceeds"].iloc[0]) else ""
        ax.set_title(f"{name}: JS {part['js_distance'].iloc[0]:.2f}{flag}", fontsize=8)
        ax.tick_params(axis="y", labelsize=6)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if names:
        axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
