"""results.md: per dataset the mean ± std (n) of every model, the 95 %
bootstrap CIs, each model against pro-VLAE, which ladder holds each factor,
what is missing; then the budget as run, the statistical methods, the
models and the commands."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from provlae_tf.experiments import budgets, ladders, statistics
from provlae_tf.experiments.collect import METRIC_TITLES, METRICS, Missing
from provlae_tf.experiments.grid import MODELS, REFERENCE_MODEL, Grid, \
    flag_value
from provlae_tf.experiments.statistics import Summary, SummaryRow

# results.md's columns: the metrics, then the KL summed over ladders.
TABLE_COLUMNS = (*METRICS, "kl")
TABLE_TITLES = {**METRIC_TITLES, "kl": "KL (nats)"}
NOT_AVAILABLE = "n/a"


def format_summary(summary: Optional[Summary], digits: int = 3) -> str:
    """``mean ± std (n=k)``; ``mean (n=1)`` for one run; ``–`` for none."""
    if summary is None:
        return "–"
    if summary.n == 1:
        return f"{summary.mean:.{digits}f} (n=1)"
    return f"{summary.mean:.{digits}f} ± {summary.std:.{digits}f} " \
           f"(n={summary.n})"


def format_ci(summary: Optional[Summary], digits: int = 3) -> str:
    """``[low, high]``; ``n/a`` when undefined (one run); ``–`` for none."""
    if summary is None:
        return "–"
    if math.isnan(summary.ci_low):
        return NOT_AVAILABLE
    return f"[{summary.ci_low:.{digits}f}, {summary.ci_high:.{digits}f}]"


def format_number(value: float, style: str = ".2f") -> str:
    """``value`` in ``style``; ``n/a`` for NaN (undefined)."""
    return NOT_AVAILABLE if math.isnan(value) else format(value, style)


def markdown_text(grid: Grid, summaries: Sequence[SummaryRow],
                  missing: Sequence[Missing], commands: Sequence[str],
                  descriptions: dict, notes: Sequence[str] = (),
                  held: Sequence[ladders.FactorLadders] = ()) -> str:
    """results.md (see the module docstring).

    Args:
        grid: the grid.
        summaries: :func:`~provlae_tf.experiments.statistics.summary_rows`
            of the finished runs.
        missing: the cells without a result.
        commands: one line per cell, as ``--list`` prints them.
        descriptions: ``{dataset: what its cells train and measure}``.
        notes: the figures that could not be drawn, and why.
        held: :func:`~provlae_tf.experiments.ladders.factor_ladders` of the
            finished runs.
    """
    table = {(s.dataset, s.model, s.metric): s for s in summaries}
    lines = [f"# Results: budget `{grid.budget}`", "",
             "Per dataset: mean ± sample standard deviation (ddof = 1) over "
             "seeds and n, the runs that have the number; the 95 % "
             "confidence interval of the mean; each model against pro-VLAE "
             "(Statistics, below). MIG and MIG-sup: the original's "
             "estimator; factor metric: Kim & Mnih; mig_histogram: "
             "disentanglement_lib's MIG; all on every ladder together, at "
             "the last stage (per ladder: results.csv; every column's "
             "statistics: summary.csv). The published column is left "
             "empty: no number is typed from memory.", ""]
    per_cell = len(grid.models) * len(grid.seeds)
    for dataset in grid.datasets:
        models = [m for m in grid.models
                  if any((dataset, m, c) in table for c in TABLE_COLUMNS)]
        lines += _dataset_tables(dataset, models, table)
        lines += _ladder_table([h for h in held if h.dataset == dataset])
        gaps = [m for m in missing if m.cell.dataset == dataset]
        if gaps:
            lines.append(f"Missing ({len(gaps)} of {per_cell} runs, not in "
                         "the tables):")
            lines += [f"- {m.cell.name}: {m.reason}" for m in gaps]
        else:
            lines.append(f"All {per_cell} runs finished.")
        lines.append("")
    if notes:
        lines += ["Figures not drawn:", *[f"- {note}" for note in notes],
                  ""]
    lines += _budget_lines(grid, descriptions)
    lines += ["## Statistics", "", *[f"- {line}" for line in METHODS], ""]
    lines += ["## Seeds, models, commands", "",
              f"- seeds: {', '.join(map(str, grid.seeds))}",
              *[f"- `{m}`: {MODELS[m].description}" for m in grid.models],
              f"- run directories: `{grid.out_dir}/<dataset>/<model>/"
              "seed<k>`", "",
              "One line per run (training, then `--mode=3`), as "
              "`python -m provlae_tf.experiments --list` prints them:", "",
              "```bash", *commands, "```", ""]
    return "\n".join(lines)


METHODS = (
    f"95 % CI: percentile bootstrap over seeds ({statistics.RESAMPLES:,} "
    "resamples of the seeds' values with replacement, seeded; the 2.5th and "
    "97.5th percentiles of the resampled means). With few seeds it covers "
    "less than 95 % (it never leaves the values' range).",
    "Against pro-VLAE, per dataset and metric, two-sided: Welch's t-test "
    "(`scipy.stats.ttest_ind(equal_var=False)`) and the Mann–Whitney U test "
    "(`scipy.stats.mannwhitneyu(alternative=\"two-sided\")`: exact for up "
    "to 8 values without ties; 3 seeds against 3 cannot give p below 0.1, "
    "5 against 5 not below 0.0079). No correction for multiple "
    "comparisons.",
    "Effect sizes, positive when pro-VLAE is higher: Cohen's d = (mean of "
    "pro-VLAE − mean of the model) / pooled sample std; rank-biserial r = "
    "2U / (n1 n2) − 1 = P(pro-VLAE > model) − P(pro-VLAE < model) over "
    "pairs of seeds.",
    "n/a: undefined (a model with one run has no std, CI or test; two "
    "groups without variance have no t or d).",
)


def _dataset_tables(dataset: str, models: Sequence[str], table: dict
                    ) -> list[str]:
    titles = " | ".join(TABLE_TITLES[c] for c in TABLE_COLUMNS)
    rule = "|---" * (len(TABLE_COLUMNS) + 1) + "|"
    lines = [f"## {dataset}", "", f"| model | {titles} | published |",
             rule + "---|"]
    if not models:
        return lines + ["| (no finished run) |" + " |" *
                        (len(TABLE_COLUMNS) + 1), ""]
    lines += [f"| {m} | " + " | ".join(
        format_summary(_summary(table, dataset, m, c))
        for c in TABLE_COLUMNS) + " |  |" for m in models]
    lines += ["", "95 % confidence interval of the mean (percentile "
              "bootstrap over seeds):", "", f"| model | {titles} |", rule]
    lines += [f"| {m} | " + " | ".join(
        format_ci(_summary(table, dataset, m, c)) for c in TABLE_COLUMNS)
        + " |" for m in models]
    compared = [(m, c) for m in models for c in TABLE_COLUMNS
                if (row := table.get((dataset, m, c))) is not None
                and row.comparison is not None]
    if compared:
        lines += ["", f"Against {REFERENCE_MODEL} (two-sided tests; d and r "
                  f"> 0: {REFERENCE_MODEL} higher):", "",
                  "| model | metric | p, Welch | p, Mann–Whitney | "
                  "Cohen's d | rank-biserial r |", "|---|---|---|---|---|---|"]
        for model, column in compared:
            c = table[(dataset, model, column)].comparison
            lines.append(
                f"| {model} | {TABLE_TITLES[column]} | "
                f"{format_number(c.p_welch, '.3g')} | "
                f"{format_number(c.p_mannwhitney, '.3g')} | "
                f"{format_number(c.cohens_d)} | "
                f"{format_number(c.rank_biserial)} |")
    return lines + [""]


def _ladder_table(held: Sequence[ladders.FactorLadders]) -> list[str]:
    """Per multi-ladder model, each factor's holding ladders over seeds."""
    if not held:
        return []
    factors = list(dict.fromkeys(h.factor for h in held))
    models = list(dict.fromkeys(h.model for h in held))
    entry = {(h.model, h.factor): h for h in held}
    lines = ["Which ladder holds each factor: per seed, the ladder of the "
             "latent with the largest normalised MI with the factor (L1 = "
             "bottom); seeds per ladder, then that MI's mean:", "",
             "| model | " + " | ".join(factors) + " |",
             "|---" * (len(factors) + 1) + "|"]
    lines += [f"| {m} | " + " | ".join(
        ladders.format_entry(entry[(m, f)]) if (m, f) in entry else "–"
        for f in factors) + " |" for m in models]
    return lines + [""]


def _summary(table: dict, dataset: str, model: str, column: str
             ) -> Optional[Summary]:
    row = table.get((dataset, model, column))
    return None if row is None else row.summary


def _budget_lines(grid: Grid, descriptions: dict) -> list[str]:
    """The budget per dataset, from the configurations run, and its flags."""
    budget = budgets.resolve(grid.budget)
    lines = ["## Budget", "",
             f"Budget `{grid.budget}`, per dataset as run (pro-VLAE's "
             "configuration; the baselines train L times a stage's steps in "
             "one stage):", ""]
    for dataset in grid.datasets:
        flags = " ".join(f"--{name}={flag_value(value)}"
                         for name, value in budget.flags_for(dataset))
        lines.append(f"- {descriptions.get(dataset, dataset)}; flags: "
                     f"`{flags or '(none)'}`")
    return lines + [""]
