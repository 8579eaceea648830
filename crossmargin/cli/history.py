"""Margins evidenced on market history (no chain): `vol forecast`, `backtest`, `risk calibrate`.

Every command reads the daily closes shipped in the package (`crossmargin/data/prices_daily.csv`) or `--prices FILE`
in the same format (date + one column per underlying).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from crossmargin.cli.common import UserError, console, emit, table
from crossmargin.cli.sim import _out, _params


def _prices(path: str | None):
    from crossmargin.sim.history import load_prices

    try:
        return load_prices(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"--prices: {exc}") from None


def _readable(t):
    """Narrow terminals: numbers stay whole; headers and the first column wrap at spaces only."""
    for i, col in enumerate(t.columns):
        cells = [w for c in col._cells for w in str(c).split()] if i == 0 else [str(c) for c in col._cells]
        col.min_width = max([len(c) for c in cells] + [len(w) for w in str(col.header).split()])
    return t


def _pct(x, digits: int = 1) -> str:
    return "-" if x is None or x != x else f"{100 * x:.{digits}f}%"


def _g(x) -> str:
    return "-" if x is None or x != x else "<1e-4" if x < 1e-4 else f"{x:.2g}"


prices_option = click.option("--prices", "prices_path", default=None, metavar="FILE",
                              help="Daily closes (CSV: date + one column per underlying); default: the shipped file.")
params_option = click.option("--params", "params_name", default="default", show_default=True,
                             help="Parameter set: a name or a TOML path (its risk horizon and vols).")
out_option = click.option("--out", default=None, metavar="DIR", help="Where plots and JSON go (default: reports/).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
refit_option = click.option("--refit-days", default=30, show_default=True, type=click.IntRange(1, 3650),
                            help="GARCH re-fit schedule: every N days on all returns up to that day.")


@click.group("vol")
def vol() -> None:
    """Volatility forecasts from market history."""


@vol.command("forecast")
@prices_option
@params_option
@refit_option
@click.option("--plot", is_flag=True, help="Write vol_forecast.png (realised vs forecast vol).")
@out_option
@json_option
def forecast_cmd(prices_path, params_name, refit_days, plot, out, as_json) -> None:
    """EWMA (λ 0.94) and GARCH(1,1)-t forecasts per underlying, horizon-matched (the params' risk horizon) and
    annualised, as of the file's last close.

    \b
    Examples:
      crossmargin vol forecast
      crossmargin vol forecast --prices my_closes.csv --plot --json
    """
    from crossmargin.sim.vol import forecast_vols

    prices, params = _prices(prices_path), _params(params_name)
    h = params.risk.horizon_days
    try:
        f = forecast_vols(prices, h, refit_days=refit_days)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    data = {"prices": prices.source, "params": params.name, "horizon_days": h, "refit_days": refit_days,
            "underlyings": f.summary(), "files": []}
    if plot:
        from crossmargin.sim.history_plots import plot_vol_forecast

        data["files"].append(str(plot_vol_forecast(f, _out(out))))
    rows = []
    for r in data["underlyings"]:
        g = r["garch_fit"] or {}
        rows.append([r["symbol"], _pct(r["ewma"]), _pct(r["garch"]),
                     f"{g['alpha']:.3f}" if g else "-", f"{g['beta']:.3f}" if g else "-",
                     f"{g['nu']:.2f}" if g else "-", r["fits"],
                     "-" if r["qlike_garch"] != r["qlike_garch"] else f"{r['qlike_ewma'] - r['qlike_garch']:+.4f}"])
    emit(data, as_json, _readable(table(
        f"vol forecast at the close of {prices.dates[-1]} (horizon {h:g} d, annualised)",
        ["underlying", "EWMA", "GARCH-t", "α", "β", "ν", "fits", "QLIKE gain"], rows)),
        message="GARCH(1,1), zero mean, Student-t innovations, fitted by arch on an expanding window re-fit every "
                f"{refit_days} days (no look-ahead); QLIKE gain > 0: GARCH's one-day forecasts beat EWMA's. "
                + (f"wrote {', '.join(data['files'])}" if data["files"] else ""))


@click.command("backtest")
@prices_option
@params_option
@click.option("--book", default=None, metavar="NAME|random",
              help="One canonical book (as in `report efficiency`) or 'random'; default: every canonical book.")
@click.option("--random", "random_n", default=0, type=click.IntRange(0, 100_000),
              help="Also backtest N random books (pooled figures).")
@click.option("--seed", default=0, show_default=True, help="Seed of the random books.")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="First day t.")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day t.")
@click.option("--vol", "vol_method", type=click.Choice(["garch", "ewma", "oracle-const"]), default="garch",
              show_default=True, help="Vol the model margins with (oracle-const: the params' reference vols).")
@click.option("--compare/--no-compare", default=True, show_default=True,
              help="Also run oracle-const beside the chosen vol (the table's last columns).")
@click.option("--rate-limit/--no-rate-limit", default=True, show_default=True,
              help="Vols as the VolOracle holds them an hour after each close (the feeder stepping within its "
                   "hour and day limits), or each forecast posted in full.")
@refit_option
@click.option("--no-plots", is_flag=True, help="Skip backtest.png.")
@out_option
@json_option
def backtest_cmd(prices_path, params_name, book, random_n, seed, start, end, vol_method, compare, rate_limit,
                 refit_days, no_plots, out, as_json) -> None:
    """MM from the model (forecast vol, configured correlation) against the realised loss over the risk horizon at
    real prices, per day: breaches, coverage, Kupiec POF and Christoffersen independence p-values, and the
    one-sided Basel traffic-light zone.

    \b
    Examples:
      crossmargin backtest
      crossmargin backtest --book "basis trade" --from 2021-01-01 --to 2022-12-31
      crossmargin backtest --random 200 --vol ewma --no-plots --json
    """
    from crossmargin.sim.backtest import NOT_TESTABLE, backtest
    from crossmargin.sim.vol import forecast_vols

    prices, params = _prices(prices_path), _params(params_name)
    try:
        for d in (start, end):
            if d:
                __import__("numpy").datetime64(d, "D")
    except ValueError:
        raise UserError(f"--from/--to must be ISO dates (YYYY-MM-DD), got {start!r}, {end!r}") from None
    try:
        f = None
        if vol_method != "oracle-const":
            f = forecast_vols(prices.only([u for u in params.symbols if u in prices.symbols]),
                              params.risk.horizon_days, refit_days=refit_days, with_garch=vol_method == "garch")
        main = backtest(params, prices, vol_method, f, book, start, end, random_n, seed, rate_limit=rate_limit)
        const = backtest(params, prices, "oracle-const", None, book, start, end, random_n, seed) \
            if compare and vol_method != "oracle-const" else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out_dir = _out(out)
    data = main.to_dict()
    if const is not None:
        data["oracle_const"] = const.to_dict()
    files = []
    if not no_plots and main.books:
        from crossmargin.sim.history_plots import plot_backtest

        files.append(str(plot_backtest(main, out_dir)))
    path = out_dir / "backtest.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    data["files"] = files + [str(path)]
    if as_json:
        emit(data, True)
        return
    by_const = {b.book: b for b in const.books} if const else {}
    cols = ["book", "days", "breaches", "coverage", "Kupiec p", "Christ. p", "MM/gross", "verdict", "zone"]
    if const:
        cols += ["const cov.", "const Kup. p"]
    rows = []
    for b in main.books:
        d = b.to_dict()
        testable = d["verdict_reason"] is None
        row = [b.book, b.days, b.breaches, _pct(d["coverage"], 2), _g(d["kupiec_p"]) if testable else "-",
               _g(d["christoffersen_p"]) if testable else "-", _pct(d["mean_mm_pct"]), b.label,
               d["traffic_light"] or "-"]
        if const:
            c = by_const[b.book]
            row += [_pct(c.to_dict()["coverage"], 2), _g(c.kupiec[1])]
        rows.append(row)
    msg = ("target (safety): coverage >= 99 %. 'over-margined': a pass with too few breaches for a 99 % margin "
           "(two-sided Kupiec p < 0.05), a capital-efficiency flag. "
           "zone: the one-sided Basel traffic light (binomial P(X <= breaches) at 1 %: green < 95 %, yellow < 99.99 %, "
           "red beyond; a conservative margin is green). "
           f"horizon {main.horizon_days} d; vol {vol_method}"
           + (f" (GARCH re-fit every {main.refit_days} days, expanding window, no look-ahead)" if vol_method == "garch"
              else "") + f"; {main.seconds:.1f} s.")
    if main.rate_limit:
        cut = {u: d for u, d in main.rate_limited.items() if d}
        msg += ("\nVolOracle rate limit (held an hour after the close): "
                + ("; ".join(f"{u} cut on {len(d)} day(s) ({', '.join(d[:3])}{', ...' if len(d) > 3 else ''})"
                             for u, d in cut.items()) if cut else "never cut a forecast") + ".")
    elif vol_method != "oracle-const":
        msg += "\nforecasts posted in full (--no-rate-limit)."
    untestable = [b.book for b in main.books if b.days and not b.testable]
    if untestable:
        msg += (f"\nnot testable ({NOT_TESTABLE}): {', '.join(untestable)}: the realised loss is 0 on every day "
                "(both legs at the spot index: the model prices a future at spot), so no margin can be breached.")
    if main.random:
        r = main.random
        msg += (f"\nrandom books ({r['books']}, seed {r['seed']}): pooled coverage {r['coverage']:.2%} over "
                f"{r['book_days']:,} book-days; pass {r['pass']} (over-margined {r['over_margined']}), under-covered "
                f"{r['under_covered']}, not testable {r['not_testable']}; zones green {r['zones']['green']}, yellow "
                f"{r['zones']['yellow']}, red {r['zones']['red']}; 5th percentile coverage {r['coverage_p5']:.2%}")
    emit(data, False, _readable(table(f"MM backtest, params {main.params}, vol {vol_method}"
                                      + (" (const: oracle-const)" if const else ""), cols, rows)) if rows else None,
         message=msg + f"\nwrote {', '.join(data['files'])}")


@click.command("calibrate")
@prices_option
@params_option
@refit_option
@click.option("--write", "write_path", default=None, metavar="FILE",
              help="Where the proposed parameter file goes (default: reports/params-calibrated.toml).")
@out_option
@json_option
def calibrate_cmd(prices_path, params_name, refit_days, write_path, out, as_json) -> None:
    """Propose z, vol_up, shock bounds, vol floors and the correlation regimes (EWMA ρ; κ from the worst 1 % of
    days; PSD-checked) that meet 99 % MM coverage on every canonical book with the least margin; print the diff
    against the parameter file and write the proposal as a parameter file.

    \b
    Examples:
      crossmargin risk calibrate
      crossmargin risk calibrate --params demo --write reports/demo-calibrated.toml --json
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from crossmargin.cli.common import err_console
    from crossmargin.model.params import PARAMS_DIR
    from crossmargin.sim.calibrate import calibrate, write_params

    prices, params = _prices(prices_path), _params(params_name)
    source = Path(params_name) if Path(params_name).suffix else PARAMS_DIR / f"{params_name}.toml"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True, disable=as_json or not err_console.is_terminal) as bar:
        task = bar.add_task("calibrating", total=None)
        try:
            cal = calibrate(params, prices, refit_days, lambda msg: bar.update(task, description=msg))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    target = Path(write_path) if write_path else _out(out) / "params-calibrated.toml"
    try:
        path, diff = write_params(cal, source, target)
    except OSError as exc:
        raise UserError(f"--write {target}: {exc.strerror or exc}") from None
    data = cal.to_dict()
    data["file"], data["diff"] = str(path), diff
    risk_changes = [c for c in cal.changes if " " not in c["name"]]
    pairs = [c for c in cal.changes if c["name"].startswith("correlation ")]
    data["apply"] = [f"crossmargin risk set " + " ".join(f"{c['name']}={c['proposed']:g}" for c in risk_changes)] \
        if risk_changes else []
    if pairs:
        data["apply"].append("crossmargin risk correlation " + " ".join(
            f"{c['name'].split()[1]}={c['proposed']:g}" for c in pairs))
    if as_json:
        emit(data, True)
        return
    emit(data, False, table(f"calibration of {params.name} on {prices.source}", ["parameter", "current", "proposed"],
                            [[c["name"], f"{c['current']:g}", f"{c['proposed']:g}"] for c in cal.changes]))
    after = {b.book: b for b in cal.after}
    rows = []
    for b in cal.before:
        a = after[b.book]
        if not b.days:
            continue
        rows.append([b.book, _pct(b.coverage, 2), _g(b.kupiec[1]) if b.testable else "-",
                     _pct(b.to_dict()["mean_mm_pct"]), _pct(a.coverage, 2), _g(a.kupiec[1]) if a.testable else "-",
                     _pct(a.to_dict()["mean_mm_pct"]), a.label])
    emit(data, False, _readable(table("GARCH backtest, current -> proposed",
                                      ["book", "coverage", "Kupiec p", "MM/gross", "coverage", "Kupiec p", "MM/gross",
                                       "verdict"], rows)))
    corr = cal.correlation
    msg = (f"κ {corr['kappa']:g}: stressed co-movement over the worst 1 % of days "
           + ", ".join(f"{k} needs {v:.2f}" for k, v in corr["kappa_needed"].items())
           + f"; smallest eigenvalue of ρ {corr['min_eigenvalue']:.3f}. vol_floor is the feeder's (off chain).")
    for note in cal.notes:
        msg += f"\nnote: {note}"
    msg += "\napply on chain (risk manager): " + (" ; ".join(data["apply"]) or "nothing to change")
    emit(data, False, message=msg)
    click.echo(diff, nl=False)  # plain: TOML's [tables] are not rich markup
    console.print(f"wrote {path}")


@click.command("replay")
@prices_option
@params_option
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="First day of a replay (its close).")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day of a replay (its close).")
@click.option("--named", multiple=True, metavar="KEY|all",
              help="A named replay (2020-03-12, 2021-05-19, 2022-05-luna, 2022-06-3ac, 2022-11-ftx; repeatable); "
                   "default without --from/--to: all of them.")
@click.option("--books", default=1000, show_default=True, type=click.IntRange(1, 1_000_000), help="Random books.")
@click.option("--seed", default=0, show_default=True, help="Seed of the books and of the bridges.")
@click.option("--steps-per-day", default=24, show_default=True, type=click.IntRange(1, 1440),
              help="Path steps between two daily closes (24 = hourly).")
@click.option("--vol", "vol_method", type=click.Choice(["garch", "ewma"]), default="garch", show_default=True,
              help="The forecast the feeder posts (through the VolOracle's rate limit).")
@click.option("--insurance", default=0.001, show_default=True, type=click.FloatRange(min=0),
              help="Insurance fund per margin mode, as a fraction of the books' gross notional.")
@click.option("--liquidation", "liq_model", type=click.Choice(["dutch", "mm"]), default="dutch", show_default=True,
              help="dutch: the Liquidation contract's full bid (d(t), flag and fund fees); mm: the bidder keeps "
                   "25 %% of MM (crossmargin simulate's model).")
@click.option("--liq-delay", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Path steps between the MM breach and the bid (0: a keeper bidding at once).")
@click.option("--jump", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="A wick at each day's worst point: this many day-sigmas of the forecast, for one step.")
@click.option("--funding-premium", default=1.25e-5, show_default=True, type=float,
              help="Perp mark premium per funding period (dutch only; 1.25e-5 an hour = 0.01 %% per 8 h).")
@click.option("--funding-beta", default=0.0, show_default=True, type=float,
              help="Premium added per unit of the trailing day's log return (> 0: a discount in a fall).")
@refit_option
@out_option
@json_option
def replay_cmd(prices_path, params_name, start, end, named, books, seed, steps_per_day, vol_method, insurance,
               liq_model, liq_delay, jump, funding_premium, funding_beta, refit_days, out, as_json) -> None:
    """Replay real history: Brownian bridges between daily closes with the forecast vol, the vol the feeder posts
    through the VolOracle's rate limit, random books cross vs isolated (liquidations, bad debt, insurance fund).

    \b
    Examples:
      crossmargin replay --named 2022-11-ftx
      crossmargin replay --from 2020-03-01 --to 2020-03-31 --liq-delay 2 --json
    """
    from crossmargin.sim.backtest import book_vols
    from crossmargin.sim.replay import NAMED, replay
    from crossmargin.sim.vol import forecast_vols

    prices, params = _prices(prices_path), _params(params_name)
    if (start is None) != (end is None):
        raise UserError("--from and --to go together")
    windows = []
    if start:
        windows.append((f"{start}..{end}", start, end, "custom window"))
    keys = list(NAMED) if (not start and not named) or "all" in named else list(dict.fromkeys(named))
    if start and not named:
        keys = []
    for k in keys:
        if k not in NAMED:
            raise UserError(f"--named {k}: unknown replay (have: {', '.join(NAMED)}, all)")
        windows.append((k, *NAMED[k]))
    listed = params.listed(0)
    try:
        f = forecast_vols(prices.only([u for u in params.symbols if u in prices.symbols]), params.risk.horizon_days,
                          refit_days=refit_days, with_garch=vol_method == "garch")
        vols = book_vols(listed, prices, vol_method, f)
        from crossmargin.sim.engine import FundingModel, LiquidationModel

        dutch = liq_model == "dutch"
        liq = LiquidationModel(delay_steps=liq_delay, schedule=listed.liquidation if dutch else None,
                               funding=FundingModel(funding_premium, funding_beta) if dutch else None)
        results = [replay(params, prices, vols, a, b, books, seed, steps_per_day, insurance, liquidation=liq, key=k,
                          jump=jump) for k, a, b, _ in windows]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    import dataclasses

    from crossmargin.sim.simulate import _plain

    data = {"params": params.name, "prices": prices.source, "books": books, "seed": seed, "vol": vol_method,
            "steps_per_day": steps_per_day, "liquidation": liq_model, "liq_delay_steps": liq_delay,
            "funding": {"premium": funding_premium, "beta": funding_beta} if liq_model == "dutch" else None,
            "jump": jump,
            "replays": [_plain(dataclasses.asdict(r)) | {"seconds": s} for r, _, s in results]}
    path = _out(out) / "replay.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    data["files"] = [str(path)]
    symbols = list(params.symbols)
    rows = [[r.key, "/".join(f"{100 * r.trough[u]:.0f}" for u in symbols),
             f"{r.cross.books_hit:,.0f} / {r.isolated.books_hit:,.0f}",
             f"{r.cross.bids:,.0f} ({r.cross.partial_bids:,.0f}) / {r.isolated.bids:,.0f} "
             f"({r.isolated.partial_bids:,.0f})",
             f"{r.cross.penalties:,.0f} / {r.isolated.penalties:,.0f}",
             f"{r.cross.funding_paid:,.0f} / {r.isolated.funding_paid:,.0f}",
             f"{r.cross.bad_debt:,.0f} / {r.isolated.bad_debt:,.0f}",
             f"{r.cross.uncovered:,.0f} / {r.isolated.uncovered:,.0f}"] for r, _, _ in results]
    notes = "; ".join(dict.fromkeys(p.sources.split("; ", 1)[1] for _, p, _ in results if "; " in p.sources))
    emit(data, as_json, _readable(table(
        f"replays of real closes, params {params.name}, {books:,} books, {steps_per_day} steps a day, vol {vol_method}",
        ["replay", f"low % {'/'.join(symbols)}", "books liquidated cross / iso", "bids (partial) cross / iso",
         "owners' liquidation cost cross / iso", "funding paid cross / iso", "bad debt cross / iso",
         "uncovered cross / iso"], rows)),
        message=f"USD; insurance fund {insurance:.2%} of gross notional per mode; liquidation: "
                + ("the contract's auction (flag fee, Dutch-auction discount, partial bids up to f_max, fund fee; "
                   f"perp funding at premium {funding_premium:g} + {funding_beta:g} x the day's return)"
                   if liq_model == "dutch"
                   else "the bidder keeps 25 % of MM") + f", {liq_delay} step(s) after the breach. "
                + (f"Proxies: {notes}. " if notes else "")
                + f"wrote {path}")


def _demo_accounts(params):
    """The demo's cross books (crossmargin.demo.books) as model accounts, traded at the reference prices."""
    from crossmargin.demo.books import BOOKS
    from crossmargin.model.margin import option_price
    from crossmargin.model.portfolio import Account, MarketState

    state = MarketState.from_params(params)
    settle = params.settlement.symbol
    accounts = []
    for b in BOOKS:
        if b.isolated:
            continue
        # an ERC-4626 share token counts as its asset at rate 1 here (the history has no share-rate series)
        coll, cash = {}, float(b.deposits.get(settle, 0))
        for k, v in b.deposits.items():
            if k != settle:
                k = next((sv.asset for sv in params.share_vaults if sv.symbol == k), k)
                if k == settle:     # a USDC vault's shares: cash at rate 1
                    cash += float(v)
                    continue
                coll[k] = coll.get(k, 0.0) + float(v)
        acct = Account(cash=cash, collateral=coll)
        for name, size in b.trades:
            spec = params.market(name)
            u = spec.underlying
            price = state.spot[u] if spec.is_linear else float(option_price(spec, state.spot[u], state.vol[u], 0))
            acct = acct.with_trade(spec, float(size), price)
        accounts.append(acct)
    return accounts


@click.command("fund")
@prices_option
@params_option
@click.option("--books", default=2000, show_default=True, type=click.IntRange(2, 1_000_000), help="Random books.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random books.")
@click.option("--insurance", default=0.001, show_default=True, type=click.FloatRange(min=0),
              help="Insurance fund of the random books, as a fraction of their gross notional.")
@click.option("--symbol", default="ETH", show_default=True, help="The underlying that gaps.")
@click.option("--stress", default=1.5, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Cover 2: historical one-day moves are multiplied by this.")
@click.option("--liquidation", "liq_model", type=click.Choice(["dutch", "mm"]), default="dutch", show_default=True,
              help="dutch: the Liquidation contract's auction (flag fee, d(t), partial bids, fund fee); mm: the "
                   "bidder keeps 25 %% of MM.")
@click.option("--liq-delay", default=0, show_default=True, type=click.IntRange(0, 1),
              help="Hourly steps between the gap and the bid (0: at once, d = d_start; 1: an hour later).")
@click.option("--no-plots", is_flag=True, help="Skip fund.png.")
@out_option
@json_option
def fund_cmd(prices_path, params_name, books, seed, insurance, symbol, stress, liq_model, liq_delay, no_plots, out,
             as_json) -> None:
    """Gap risk and the insurance fund: bad debt against a one-step gap (5 %-40 %, vol x2) for random books and
    the demo's books, and the fund a Cover 2 rule needs (two largest losses beyond margin on the worst historical
    day x stress) against the configured fund.

    \b
    Examples:
      crossmargin report fund
      crossmargin report fund --symbol SOL --stress 2 --json
    """
    import numpy as np

    from crossmargin.demo.books import INSURANCE_DEPOSIT
    from crossmargin.model.portfolio import MarketState
    from crossmargin.sim.books import from_accounts
    from crossmargin.sim.fund import cover2, gap_table
    from crossmargin.sim.simulate import build_books

    prices, params = _prices(prices_path), _params(params_name)
    listed = params.listed(0)
    symbol = symbol.upper()
    if symbol not in listed.symbols:
        raise UserError(f"--symbol {symbol}: not an underlying of {params.name} ({', '.join(listed.symbols)})")
    cross, iso, _, _ = build_books(listed, books, seed)
    spot = np.array([MarketState.from_params(listed).spot[u] for u in listed.symbols])
    fund = insurance * float(cross.gross_notional(spot).sum())
    demo = _params("demo").listed(0)
    demo_books = from_accounts(demo, _demo_accounts(demo))
    demo_fund = float(INSURANCE_DEPOSIT.get(demo.settlement.symbol, 0))
    from crossmargin.sim.engine import LiquidationModel

    def liq(p):
        return LiquidationModel(delay_steps=liq_delay, schedule=p.liquidation if liq_model == "dutch" else None,
                                discount=0.25)

    series = {"random books, cross": gap_table(listed, cross, fund, symbol, liquidation=liq(listed)),
              "random books, isolated": gap_table(listed, iso, fund, symbol, liquidation=liq(listed)),
              "demo books (demo params)": gap_table(demo, demo_books, demo_fund, symbol, liquidation=liq(demo))}
    c2 = cover2(listed, cross, prices, stress)
    c2_demo = cover2(demo, demo_books, prices, stress)
    data = {"params": params.name, "books": books, "seed": seed, "symbol": symbol, "liquidation": liq_model,
            "liq_delay_steps": liq_delay,
            "funds": {"random books": fund, "demo books": demo_fund},
            "gaps": {k: [r.__dict__ for r in v] for k, v in series.items()},
            "cover2": {"random books": c2.to_dict(), "demo books": c2_demo.to_dict()}, "files": []}
    out_dir = _out(out)
    if not no_plots:
        from crossmargin.sim.history_plots import plot_fund

        data["files"].append(str(plot_fund({k: v for k, v in series.items() if "demo" not in k}, fund, out_dir,
                                           symbol)))
    path = out_dir / "fund.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    data["files"].append(str(path))
    if as_json:
        emit(data, True)
        return
    names = list(series)
    rows = []
    for i, g in enumerate(series[names[0]]):
        rows.append([f"-{100 * g.gap:.0f}%"] + [f"{series[n][i].negative_equity:,.0f} / {series[n][i].bad_debt:,.0f}"
                                                 for n in names])
    emit(data, False, _readable(table(
        f"one-step {symbol} gap, vol x2: negative equity / bad debt (USD)", ["gap", *names], rows)))
    c2_rows = []
    for name, c, f in (("random books", c2, fund), ("demo books (demo params)", c2_demo, demo_fund)):
        moves = ", ".join(f"{u} {100 * m:+.0f} %" for u, m in c.moves.items())
        c2_rows.append([name, c.worst_day, moves, " + ".join(f"{x:,.0f}" for x in c.largest), f"{c.cover2:,.0f}",
                        f"{c.cover_all:,.0f}", f"{f:,.0f}", f"{c.cover2 / f:.2f}" if f else "-"])
    emit(data, False, _readable(table(
        f"Cover 2: the two largest losses beyond margin on the worst historical day, moves x{stress:g}, vols x2 (USD)",
        ["books", "worst day", "stressed moves", "two largest", "Cover 2", "every account", "fund",
         "Cover 2 / fund"], c2_rows)))
    msg = (f"funds: random books {fund:,.0f} ({insurance:.2%} of gross notional), demo {demo_fund:,.0f}; liquidation: "
           + ("the contract's auction" if liq_model == "dutch" else "the bidder keeps 25 % of MM")
           + f", {liq_delay} step(s) after the gap. "
           + (f"No prices for {', '.join(c2.proxies)} on some days: they did not move then. " if c2.proxies else "")
           + f"wrote {', '.join(data['files'])}")
    emit(data, False, message=msg)


def _vol_agent():
    from crossmargin.cli.bots import bot_options

    @click.command("vol")
    @bot_options
    @prices_option
    @click.option("--method", type=click.Choice(["garch", "ewma"]), default="garch", show_default=True,
                  help="The forecast posted.")
    @click.option("--floor", default=0.0, show_default=True, type=click.FloatRange(min=0),
                  help="Never post below this (annualised), on top of each underlying's vol_floor.")
    @click.option("--min-change", default=0.01, show_default=True, type=click.FloatRange(min=0),
                  help="Relative change below which nothing is sent (unless the value is old).")
    @click.option("--refresh", type=int, default=None, help="Seconds after which the current value is re-posted "
                                                            "(default: half the oracle's heartbeat).")
    @click.option("--half-life", default=86_400, show_default=True, type=click.IntRange(min=1),
                  help="Without --prices: half-life of the rounds EWMA, seconds.")
    @click.option("--lookback", default=7 * 86_400, show_default=True, type=click.IntRange(min=1),
                  help="Without --prices: how far back the oracle's rounds are read, seconds.")
    @click.option("--max-rounds", default=2_000, show_default=True, type=click.IntRange(min=2),
                  help="Without --prices: at most this many rounds per underlying.")
    @refit_option
    def vol_agent_cmd(**kw) -> None:
        """Post forecast vols to the VolOracle, stepping within its limits: GARCH or EWMA from a price file
        (--prices), or without one from the chain's own oracle history (the primary feeds' AggregatorV3 rounds: a
        time-weighted EWMA), floored at each underlying's vol_floor and --floor.

        \b
        Examples:
          crossmargin agent vol --account TEST::0
          crossmargin agent vol --account feeder --prices crossmargin/data/prices_daily.csv --method ewma --json
        """
        from crossmargin.bots.core import BotError, GasPolicy
        from crossmargin.bots.run import run_bot
        from crossmargin.bots.vol import VolConfig, VolFeeder

        try:
            config = VolConfig(prices=Path(kw["prices_path"]) if kw["prices_path"] else None, method=kw["method"],
                               floor=kw["floor"], min_change=kw["min_change"], refresh=kw["refresh"],
                               refit_days=kw["refit_days"], half_life=kw["half_life"], lookback=kw["lookback"],
                               max_rounds=kw["max_rounds"])
            gas = GasPolicy(kw["max_fee_gwei"], kw["priority_gwei"])
            run_bot(lambda w3, signer: VolFeeder(w3, signer, gas, kw["dry_run"], config), network=kw["network"],
                    account=kw["account"], as_json=kw["as_json"], log=kw["log_path"], poll=kw["poll"],
                    max_blocks=kw["max_blocks"], columns=("block", "vols", "posts", "sent", "steps_left"), name="vol",
                    dry_run=kw["dry_run"])
        except BotError as exc:
            raise UserError(str(exc)) from None

    return vol_agent_cmd


def register(cli: click.Group) -> None:
    cli.add_command(vol)
    cli.add_command(backtest_cmd)
    cli.add_command(replay_cmd)
    # `risk calibrate` joins the chain-side `risk` group (crossmargin/cli/risk.py, registered before this module)
    risk = cli.commands.get("risk")
    if risk is None:  # a CLI assembled without the chain commands still gets its own `risk` group
        risk = click.Group("risk", help="Risk parameters.")
        cli.add_command(risk)
    risk.add_command(calibrate_cmd)
    # `report fund` joins `report` (crossmargin/cli/sim.py, registered before this module)
    report = cli.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports computed from the model (no chain).")
        cli.add_command(report)
    report.add_command(fund_cmd)
    # `agent vol` joins the bots' `agent` group (crossmargin/cli/bots.py), when the CLI has it
    agent = cli.commands.get("agent")
    if agent is not None:
        agent.add_command(_vol_agent())
