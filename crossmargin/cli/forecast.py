"""Seeing liquidations before they happen: `account risk`, `report liquidation-forecast`, `report band-forecast`.

    crossmargin account risk 3 [--json]            an account on chain: P(liquidation within 1 h / 24 h)
    crossmargin account risk --book book.toml      every account of a book file (format: crossmargin.sim.liqprob)
    crossmargin report liquidation-forecast        the calibration study on the shipped history (plot + JSON)
    crossmargin report band-forecast               the forecast-driven band agent vs the plain one on real history

Sweeps run on Dask: a LocalCluster on this machine by default (`--workers N`, 0 = no Dask), or an existing
cluster with `--scheduler tcp://HOST:PORT`.
"""

from __future__ import annotations

import json

import click

from crossmargin.cli.common import UserError, chain_options, emit, table

method_option = click.option("--method", type=click.Choice(["fhs", "t", "normal"]), default="fhs", show_default=True,
                             help="Tails: filtered historical simulation (the best calibrated on the shipped history), "
                                  "Student-t fitted to history, or Gaussian.")
seed_option = click.option("--seed", default=0, show_default=True, help="Seed: the same seed, the same paths.")
workers_option = click.option("--workers", default=None, type=click.IntRange(0, 1024), metavar="N",
                              help="Dask LocalCluster workers (default: one per core; 0: no Dask, this process).")
scheduler_option = click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                                help="Run the sweep on an existing Dask cluster instead of a LocalCluster.")


def _sweep(workers, scheduler, default_local: bool = False):
    from crossmargin.sim.sweep import Sweep

    if scheduler and workers:
        raise UserError("--workers and --scheduler: pick one (the cluster has its own workers)")
    if default_local and workers is None and not scheduler:
        workers = 0
    return Sweep(workers=workers, scheduler=scheduler, name="crossmargin")


def _model(params, method):
    from crossmargin.sim.liqprob import shock_model

    try:
        return shock_model(params, method)
    except (OSError, ValueError) as exc:
        raise UserError(f"tail model: {exc}") from None


def _pct(p: float, se: float | None = None) -> str:
    text = "<0.01%" if 0 < p < 1e-4 else f"{100 * p:.2f}%"
    return text + (f" ± {100 * se:.2f}" if se else "")


@click.command("risk")
@chain_options
@click.argument("account_id", type=int, required=False)
@click.option("--book", "book", default=None, metavar="FILE", help="A book file (TOML or JSON) instead of the chain.")
@click.option("--paths", default=None, type=click.IntRange(100, 10_000_000),
              help="Monte Carlo paths (default 10,000; 4,096 when options are held, with 96 steps over 24 h "
                   "instead of 288).")
@method_option
@seed_option
@workers_option
@scheduler_option
def risk_cmd(network, account, confirmations, as_json, account_id, book, paths, method, seed, workers,
             scheduler) -> None:
    """P(liquidation within 1 h / 24 h): Monte Carlo of the forecast vols with fat tails and the configured
    correlation, the account fully revalued by the margin model at every step (options included), the oracle vol
    moving with spot.

    \b
    Examples:
      crossmargin account risk 3
      crossmargin account risk 3 --paths 20000 --method t --json
      crossmargin account risk --book mybook.toml --workers 0
    """
    from crossmargin.sim.liqprob import load_book, probabilities

    if (account_id is None) == (book is None):
        raise UserError("give an ACCOUNT_ID (on chain) or --book FILE")
    chain = {}
    if book:
        try:
            params, state, named = load_book(book)
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"--book {book}: {exc}") from None
    else:
        from crossmargin.bots.reads import Deployment
        from crossmargin.chain.session import connect
        from crossmargin.sim.liqprob import chain_account

        with connect(network, account, confirmations) as session:
            dep = Deployment.load(session.web3)
            try:
                acct, state, chain = chain_account(dep, account_id)
            except Exception as exc:  # noqa: BLE001 - a missing account or deployment: one line
                raise UserError(f"account {account_id}: {exc}") from None
            params = dep.listed
        named = [(f"account {account_id}", acct)]
    model = _model(params, method)
    has_options = any(not p.spec.is_linear for _, a in named for p in a.resolved(params).positions)
    paths = paths or (4096 if has_options else 10_000)
    with _sweep(workers, scheduler, default_local=True) as sw:
        results = probabilities([a for _, a in named], state, params, model, paths=paths, seed=seed,
                                steps=(60, 96) if has_options else None, mapper=None if sw.local else sw.map)
        where = sw.describe()
    rows = [{"name": n, **r.to_dict(), "breach_time_quantiles_h": [list(q) for q in r.first_step]}
            for (n, _), r in zip(named, results)]
    data = {"source": book or f"chain {network or 'local'}", "params": params.name, "model": model.to_dict(),
            "state": {"spot": dict(state.spot), "vol": dict(state.vol), "now": state.now}, "seed": seed,
            "ran_on": where, "accounts": rows}
    if chain:
        data["chain"] = chain
    r0 = results[0]
    emit(data, as_json, table(
        f"probability of liquidation ({model.method}{f', ν {model.nu:.2f}' if model.method == 't' else ''}; "
        f"{paths:,} paths, steps {'/'.join(map(str, r0.steps))})",
        ["account", "E_mm", "MM", "E_mm / MM", "P(liq, 1 h)", "P(liq, 24 h)", "median breach (h)"],
        [[row["name"], f"{r.equity_mm:,.0f}", f"{r.mm:,.0f}", f"{r.equity_mm / r.mm:.3f}" if r.mm else "-",
          _pct(r.p[0], r.stderr[0]), _pct(r.p[-1], r.stderr[-1]),
          f"{r.first_step[-1][1]:.1f}" if r.first_step and r.first_step[-1] else "-"]
         for row, r in zip(rows, results)]),
        message=f"{r0.revaluations:,} account-path revaluations in "
                f"{r0.seconds:.1f} s on {where}. ± is one standard error.")


@click.command("liquidation-forecast")
@click.option("--params", "params_name", default="default", show_default=True, help="Parameter set.")
@click.option("--prices", "prices_path", default=None, metavar="FILE", help="Daily closes (default: shipped file).")
@click.option("--books", default=16, show_default=True, type=click.IntRange(1, 10_000), help="Random books a window.")
@click.option("--windows", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Rolling 24 h windows, spread evenly over the history.")
@click.option("--paths", default=512, show_default=True, type=click.IntRange(64, 1_000_000), help="Paths per book.")
@click.option("--steps", default=24, show_default=True, type=click.IntRange(2, 1440), help="Steps per 24 h.")
@method_option
@seed_option
@workers_option
@scheduler_option
@click.option("--no-plots", is_flag=True, help="Skip the reliability diagram.")
@click.option("--out", default=None, metavar="DIR", help="Where the plot and JSON go (default: reports/).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def liquidation_forecast_cmd(params_name, prices_path, books, windows, paths, steps, method, seed, workers,
                             scheduler, no_plots, out, as_json) -> None:
    """Is P(liquidation) right? Random books through rolling windows of the shipped history: predicted
    probability vs realised liquidations (reliability diagram), Brier score against a naive baseline (distance
    to MM in units of forecast vol).

    \b
    Examples:
      crossmargin report liquidation-forecast --windows 50 --workers 0
      crossmargin report liquidation-forecast --method normal --seed 1 --json
    """
    import time

    from crossmargin.cli.sim import _out, _params
    from crossmargin.sim.liqcal import calibration_tasks, plot_reliability, run_calibration

    params = _params(params_name)
    prices = None
    if prices_path:
        from crossmargin.cli.history import _prices

        prices = _prices(prices_path)
    try:
        tasks = calibration_tasks(params, prices, books, windows, seed, paths, steps, method=method)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    started = time.perf_counter()
    with _sweep(workers, scheduler) as sw:
        cal = run_calibration(tasks, None if sw.local else sw.map)
        where = sw.describe()
    seconds = time.perf_counter() - started
    d = cal.to_dict()
    out_dir = _out(out)
    files = []
    if not no_plots:
        files.append(str(plot_reliability(cal, out_dir, f"params {params.name}, {len(tasks)} windows "
                                          f"{tasks[0].day} .. {tasks[-1].day}, {books} books each, {paths} paths",
                                          method)))
    data = {"params": params.name, "windows": len(tasks), "first": tasks[0].day, "last": tasks[-1].day,
            "books_per_window": books, "paths": paths, "steps": steps, "seed": seed, "method": method,
            "nu": tasks[0].nu,
            "scale": tasks[0].scale, "ran_on": where, "seconds": round(seconds, 1), **d}
    path = out_dir / ("liquidation_forecast.json" if method == "fhs" else f"liquidation_forecast_{method}.json")
    path.write_text(json.dumps(data, indent=2, default=str))
    data["files"] = files + [str(path)]
    rows = [[f"{r['bin'][0]:.3f} - {r['bin'][1]:.3f}", r["n"], _pct(r["predicted"]), _pct(r["realised"]),
             f"{_pct(r['low'])} .. {_pct(r['high'])}"] for r in d["reliability"]]
    emit(data, as_json, table(f"reliability of P(liq, 24 h): {d['n']:,} book-days, {d['liquidated']:,} liquidated",
                              ["predicted bin", "books", "mean predicted", "realised", "95 % interval"], rows),
         message=f"Brier: forecast {d['brier']:.4f}, naive (distance to MM in forecast vols) {d['brier_naive']:.4f}, "
                 f"base rate {d['brier_climatology']:.4f}; skill vs naive {d['skill_vs_naive']:+.1%}. "
                 + (f"Student-t ν {tasks[0].nu:.2f}, scale {tasks[0].scale:.2f} (fitted before {tasks[0].day}). "
                    if method == "t" else f"Tails: {method}. ") +
                 f"{seconds:.0f} s on {where}. wrote {', '.join(data['files'])}")


@click.command("band-forecast")
@click.option("--params", "params_name", default="default", show_default=True, help="Parameter set.")
@click.option("--prices", "prices_path", default=None, metavar="FILE", help="Daily closes (default: shipped file).")
@click.option("--named", multiple=True, metavar="KEY", help="Replay windows (default: 2021-05-19 and 2022-06-3ac; "
              "any key of `crossmargin replay --named`).")
@click.option("--books", default=12, show_default=True, type=click.IntRange(1, 10_000), help="Random books a window.")
@click.option("--max-pliq", default=0.01, show_default=True, type=click.FloatRange(0.0001, 0.5, min_open=False),
              help="The forecast agent keeps P(liquidation, 24 h) below this.")
@method_option
@seed_option
@workers_option
@scheduler_option
@click.option("--out", default=None, metavar="DIR", help="Where the JSON goes (default: reports/).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def band_forecast_cmd(params_name, prices_path, named, books, max_pliq, method, seed, workers, scheduler, out,
                      as_json) -> None:
    """The band agent with the policy "keep P(liquidation, 24 h) below p" against the plain band agent, replayed
    on real history (hourly bridges between the shipped daily closes): liquidations, capital used, actions.

    \b
    Examples:
      crossmargin report band-forecast
      crossmargin report band-forecast --named 2022-11-ftx --max-pliq 0.005 --json
    """
    import time

    from crossmargin.cli.sim import _out, _params
    from crossmargin.sim.liqagent import WINDOWS, Policy, replay_task, replay_tasks, summarise

    params = _params(params_name)
    prices = None
    if prices_path:
        from crossmargin.cli.history import _prices

        prices = _prices(prices_path)
    try:
        tasks = replay_tasks(params, prices, tuple(named) or WINDOWS, books, seed,
                             (Policy("plain"), Policy("forecast", max_pliq=max_pliq)), _model(params, method))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    started = time.perf_counter()
    with _sweep(workers, scheduler) as sw:
        results = sw.map(replay_task, tasks)
        where = sw.describe()
    seconds = time.perf_counter() - started
    summary = summarise(results)
    data = {"params": params.name, "books_per_window": books, "max_pliq": max_pliq, "method": method, "seed": seed,
            "ran_on": where,
            "seconds": round(seconds, 1), "windows": summary, "books": results}
    path = _out(out) / "band_forecast.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    data["files"] = [str(path)]
    rows = []
    for w, by in summary.items():
        for k in ("plain", "forecast"):
            x = by[k]
            rows.append([f"{w} {k}", x["liquidations"], f"{x['deposited']:,.0f}", f"{x['withdrawn']:,.0f}",
                         f"{x['capital_avg']:,.0f}", f"{x['capital_peak']:,.0f}",
                         f"{x['actions']} ({x['deposits']}/{x['withdrawals']}/{x['reductions']})"])
    emit(data, as_json, table(f"band agent, plain vs forecast (P(liq, 24 h) < {max_pliq:.2%}), {books} books a window",
                              ["window, agent", "liquidated", "deposited", "withdrawn", "avg capital", "peak capital",
                               "actions (dep/wd/red)"], rows),
         message=f"USD, summed over the books. {seconds:.0f} s on {where}. wrote {path}")


def register(cli: click.Group) -> None:
    cli.commands["account"].add_command(risk_cmd)
    report = cli.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports computed from the model (no chain).")
        cli.add_command(report)
    report.add_command(liquidation_forecast_cmd)
    report.add_command(band_forecast_cmd)
