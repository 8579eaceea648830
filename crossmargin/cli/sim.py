"""`crossmargin simulate` and `crossmargin report efficiency`: the pure-Python model, no chain."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crossmargin.cli.common import UserError, console, emit, err_console, print_table, table
from crossmargin.paths import reports_dir
from crossmargin.sim.stress import SCENARIOS

SCENARIO_CHOICES = ["gbm", *SCENARIOS, "all"]


def _params(name: str):
    from crossmargin.model.params import load_params

    try:
        return load_params(name)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise UserError(f"--params {name}: {exc}") from None


def _out(out: str | None) -> Path:
    path = Path(out) if out else reports_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {path}: {exc.strerror or exc}") from None
    return path


def _usd(x: float) -> str:
    return f"{x:,.0f}"


@click.command("simulate")
@click.option("--books", default=2000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Random books to simulate.")
@click.option("--paths", default=10, show_default=True, type=click.IntRange(1, 100_000),
              help="GBM paths (each stress replay is one path).")
@click.option("--scenario", "scenarios", multiple=True, type=click.Choice(SCENARIO_CHOICES), default=("all",),
              show_default=True, help="Scenario to run (repeatable); stress replays are stylised paths.")
@click.option("--seed", default=0, show_default=True, help="Seed: the same seed gives the same books and paths.")
@click.option("--params", "params_name", default="default", show_default=True,
              help="Parameter set: a name or a TOML path.")
@click.option("--days", default=7.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="GBM horizon in days (hourly steps).")
@click.option("--insurance", default=0.001, show_default=True, type=click.FloatRange(min=0),
              help="Insurance fund per margin mode, as a fraction of the books' gross notional.")
@click.option("--liquidation", "liq_model", type=click.Choice(["dutch", "mm"]), default="dutch", show_default=True,
              help="dutch: the Liquidation contract's auction (flag fee, d(t), partial bids up to f_max, fund fee) "
                   "and perp funding; mm: the bidder keeps --liq-discount of MM of the whole book.")
@click.option("--liq-discount", default=0.25, show_default=True, type=click.FloatRange(0, 1),
              help="--liquidation mm: the bidder keeps this fraction of MM.")
@click.option("--liq-delay", default=1, show_default=True, type=click.IntRange(0, 1000),
              help="Liquidation: hours (path steps) between the MM breach and the (first) bid.")
@click.option("--funding-premium", default=1.25e-5, show_default=True, type=float,
              help="--liquidation dutch: perp mark premium per funding period (1.25e-5 an hour = 0.01 %% per 8 h).")
@click.option("--out", default=None, metavar="DIR", help="Where plots and sim_summary.json go (default: reports/).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--prices", "prices_path", default=None, metavar="FILE",
              help="With --from/--to: replay these daily closes instead (`crossmargin replay`).")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="Replay real history from this day.")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="... to this day.")
@click.option("--jump", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="With --from/--to: a wick of this many day-sigmas at each day's worst point.")
@click.pass_context
def simulate_cmd(ctx, books, paths, scenarios, seed, params_name, days, insurance, liq_model, liq_discount, liq_delay,
                 funding_premium, out, no_plots, as_json, prices_path, start, end, jump) -> None:
    """Random books along GBM paths and stylised crash replays: capital, liquidations and bad debt,
    cross margin vs isolated margin (pure Python model, no chain). With --from/--to: a replay of real daily
    closes (`crossmargin replay`, the contract's Dutch auction).

    \b
    Examples:
      crossmargin simulate --books 500 --paths 5
      crossmargin simulate --scenario 2020-03-12 --liquidation mm --no-plots --json
      crossmargin simulate --from 2022-11-01 --to 2022-11-20 --jump 2
    """
    if start or end:
        from crossmargin.cli.history import replay_cmd

        return ctx.invoke(replay_cmd, prices_path=prices_path, params_name=params_name, start=start, end=end,
                          books=books, seed=seed, insurance=insurance, liq_model=liq_model, liq_delay=liq_delay,
                          funding_premium=funding_premium, jump=jump, out=out, as_json=as_json)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crossmargin.sim.engine import FundingModel, LiquidationModel
    from crossmargin.sim.paths import GBMConfig
    from crossmargin.sim.simulate import SCENARIO_KEYS, SimConfig, simulate

    params = _params(params_name)
    keys = SCENARIO_KEYS if "all" in scenarios else tuple(dict.fromkeys(scenarios))
    try:
        config = SimConfig(books=books, paths=paths, scenarios=keys, seed=seed, gbm=GBMConfig(days=days),
                           liquidation=LiquidationModel(discount=liq_discount, delay_steps=liq_delay,
                                                        schedule=params.liquidation if liq_model == "dutch" else None,
                                                        funding=FundingModel(funding_premium)
                                                        if liq_model == "dutch" else None),
                           insurance=insurance)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out_dir = _out(out)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=as_json or not err_console.is_terminal) as bar:
        task = bar.add_task(f"simulating {books:,} books", total=config.walks())
        result = simulate(params, config, lambda n, what: bar.update(task, advance=n, description=what))

    data = result.to_dict()
    files = []
    if not no_plots:
        from crossmargin.sim.plots import plot_simulation

        files = [str(p) for p in plot_simulation(result, out_dir)]
    summary = out_dir / "sim_summary.json"
    summary.write_text(json.dumps(data, indent=2))
    data["files"] = files + [str(summary)]
    if as_json:
        emit(data, True)
        return
    pop = result.population
    cap = table(f"capital required at the start (IM, USD): {pop.books:,} books, "
                f"{pop.subaccounts:,} isolated subaccounts",
                ["book family", "books", "cross", "isolated", "cross / isolated"],
                [[k, v["books"], _usd(v["capital_cross"]), _usd(v["capital_isolated"]), f"{v['ratio']:.1%}"]
                 for k, v in pop.by_kind.items()]
                + [["all", pop.books, _usd(pop.capital_cross), _usd(pop.capital_isolated), f"{pop.ratio:.1%}"]])
    symbols = list(result.scenarios[0].trough) if result.scenarios else []
    rows = []
    for s in result.scenarios:
        low = "/".join(f"{100 * x:.0f}" for x in s.trough.values())
        rows.append([s.key + ("*" if s.stylised else ""), s.paths, low,
                     f"{s.cross.books_hit:,.0f} / {s.isolated.books_hit:,.0f}",
                     f"{_usd(s.cross.bad_debt)} / {_usd(s.isolated.bad_debt)}",
                     f"{_usd(s.cross.uncovered)} / {_usd(s.isolated.uncovered)}"])
    fund = result.scenarios[0].insurance_fund if result.scenarios else 0.0
    summary_table = _readable(table(
        f"simulate: params {params.name}, seed {seed}, {pop.books:,} books; means per path",
        ["scenario", "paths", f"low % {'/'.join(symbols)}", "books liquidated cross / iso",
         "bad debt cross / iso", "uncovered cross / iso"], rows))
    print_table(_readable(cap))
    emit(data, False, summary_table,
         message=f"* stylised replay (source figures in sim_summary.json). USD; insurance fund {_usd(fund)} per mode "
                 f"({insurance:.2%} of gross notional); isolated: a book counts as liquidated if any of its "
                 f"subaccounts is. Scenario part cross <= isolated on every book: {pop.scenario_cross_le_isolated}. "
                 f"{result.seconds:.1f} s; wrote {', '.join(data['files'])}")


def _readable(t):
    """Narrow terminals: numbers stay whole; headers and the first column's names wrap at spaces."""
    for i, col in enumerate(t.columns):
        cells = [w for c in col._cells for w in str(c).split()] if i == 0 else [str(c) for c in col._cells]
        col.min_width = max([len(c) for c in cells] + [len(w) for w in str(col.header).split()])
    return t


@click.group("report")
def report() -> None:
    """Reports computed from the model (no chain)."""


@report.command("efficiency")
@click.option("--params", "params_name", default="default", show_default=True,
              help="Parameter set: a name or a TOML path.")
@click.option("--notional", default=1_000_000.0, show_default=True, type=click.FloatRange(min=1.0, min_open=False),
              help="USD notional per leg of each canonical book.")
@click.option("--out", default=None, metavar="DIR",
              help="Where efficiency.png and efficiency.json go (default: reports/).")
@click.option("--no-plots", is_flag=True, help="Skip the bar chart.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def efficiency_cmd(params_name, notional, out, no_plots, as_json) -> None:
    """IM of canonical books (basis trade, covered call, hedged short straddle, correlated and diversified
    longs, long ETH vs short BTC) under cross margin, isolated margin and a naive sum of per-position margins.

    \b
    Examples:
      crossmargin report efficiency
      crossmargin report efficiency --params demo --notional 100000 --json
    """
    from crossmargin.sim.efficiency import efficiency

    params = _params(params_name)
    try:
        rows = efficiency(params, notional)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out_dir = _out(out)
    files = []
    if not no_plots:
        from crossmargin.sim.plots import plot_efficiency

        files.append(str(plot_efficiency(rows, out_dir, params.name)))
    data = {"params": params.name, "notional_per_leg": notional, "books": [r.to_dict() for r in rows]}
    path = out_dir / "efficiency.json"
    path.write_text(json.dumps(data, indent=2))
    data["files"] = files + [str(path)]
    wide = console.width >= 120
    emit(data, as_json, _readable(table(
        f"capital efficiency, params {params.name}: IM in USD, {notional:,.0f} USD per leg",
        ["book", "cross", "cross, vol ×3", "isolated", "naive sum", "cross / iso"] + (["legs"] if wide else []),
        [[r.book, _usd(r.cross), _usd(r.cross_stressed), _usd(r.isolated), _usd(r.naive), f"{r.cross_vs_isolated:.1%}"]
         + ([r.legs] if wide else []) for r in rows])),
        message=("" if wide else "\n".join(f"{r.book}: {r.legs}" for r in rows) + "\n")
        + "naive sum: per-position margins added in one pool (= isolated unless linked collateral is a leg). "
        + "cross, vol ×3: the same book with every vol tripled (spot shock, vol rows and futures' basis shock grow). "
        + f"wrote {', '.join(data['files'])}")


def register(cli: click.Group) -> None:
    cli.add_command(simulate_cmd)
    cli.add_command(report)
