"""Orchestration of the demo: deploy → fund → open books → start the bots → crash step by step (health is
sampled after every oracle move — prices, then the vol feeder's posts — before the other bots act, and again once
they are done) → report.

Run to run the demo is the same: the chain's clock is fixed (genesis at `GENESIS_TIMESTAMP`, one second per
block, each crash step exactly `STEP_SECONDS` later), the bots step in one thread in a fixed order, and every
nonce is seeded (`SEED`): the same auctions, bids, unwinds, deposits and figures every time."""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from crossmargin.chain.node import Anvil, rpc
from crossmargin.demo.books import (BAND_RESERVE, BOOKS, INSURANCE_DEPOSIT, KEEPER_DEPOSIT, MAKER_DEPOSIT, Book)
from crossmargin.demo import shares as demo_shares
from crossmargin.demo.crash import STEP_SECONDS, crash_path

console = Console(width=None if Console().is_terminal else 130)

GENESIS_TIMESTAMP = 1_767_225_600  # 2026-01-01 00:00 UTC: the demo chain's clock starts here, not at the wall clock
SEED = 20200312                    # the order nonces of the books and of the market maker


@dataclass
class Tracked:
    """One margin account followed through the crash."""

    book: str
    account: int
    label: str
    mode: str                              # cross / isolated
    history: list[dict] = field(default_factory=list)
    opened: bool = True
    note: str = ""


@dataclass
class DemoState:
    protocol: object
    session: object
    node: Anvil
    maker: tuple[object, int] = None
    keeper: tuple[object, int] = None
    band: tuple[object, int] = None
    tracked: list[Tracked] = field(default_factory=list)
    prices: list[dict] = field(default_factory=list)
    vols: list[dict] = field(default_factory=list)    # the VolOracle's vols at each snapshot (the feeder's posts)
    bots: object = None                       # demo.bots.DemoBots
    step_blocks: list[tuple[int, int]] = field(default_factory=list)  # (first block, crash seconds) per step
    insurance_start: float = 0.0
    share_rates: list[dict] = field(default_factory=list)   # ERC-4626 share guards at each snapshot (demo.shares)
    nonces: int = 0                           # order nonces used by the books' trades (SEED-based, in order)


def run_demo(as_json: bool = False, params_name: str = "demo", steps: int | None = None,
             out_dir: str | None = None) -> dict:
    """Run the whole demo on its own anvil (nothing persists but the report) and return the report dict."""
    from crossmargin.chain.deploy import deploy
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect
    from crossmargin.demo import report as report_mod
    from crossmargin.model.params import load_params

    started = time.monotonic()
    quiet = as_json
    with tempfile.TemporaryDirectory() as tmp, _deployments_in(tmp):
        with _node() as node, connect(node.uri) as session, _progress(quiet) as progress:
            task = progress.add_task("deploying", total=None)
            params = load_params(params_name)
            deploy(session, params, on_step=lambda k, w: progress.update(task, description=f"deploy: {k}"))
            p = Protocol.load(session)
            state = DemoState(p, session, node)
            progress.update(task, description="funding maker, keeper, insurance fund")
            _fund(state)
            progress.update(task, description="opening books")
            for book in BOOKS:
                _open_book(state, book)
            progress.update(task, description="starting the market maker, keeper and band agent")
            state.bots = _start_bots(state, Path(tmp) / "book.json")
            _mark_step(state, 0)
            state.bots.settle(0)
            state.insurance_start = float(D(p.vault.cash_of(1)) / 10**18)
            _snapshot(state, 0, {u.symbol: u.price for u in params.underlyings})
            path = crash_path({u.symbol: u.price for u in params.underlyings},
                              {u.symbol: u.vol for u in params.underlyings}, params.oracle.vol_hour_factor)
            path = path[:steps] if steps else path
            progress.update(task, description="crash", total=len(path), completed=0)
            for step in path:
                _mark_step(state, step.seconds)
                _advance(state, STEP_SECONDS)
                demo_shares.accrue(state, STEP_SECONDS)   # the staked-ETH vault earns its yield
                for sym, price in step.prices.items():
                    p.set_price(sym, D(str(price)))
                # no scripted vols: the vol feeder (demo.bots) posts its forecast from these rounds, first (the
                # oracles' move), then health is what the keeper finds (below MM shows below 1), then all act
                state.bots.settle(step.seconds, only=("vol",))
                _sample_health(state, step.seconds, "before")
                state.bots.settle(step.seconds)
                _snapshot(state, step.seconds, step.prices)
                progress.update(task, advance=1, description=_step_line(state, step))
            progress.update(task, description="stopping the bots, report")
            summaries = state.bots.finish()
            result = report_mod.build(state, params, summaries, time.monotonic() - started)
    return report_mod.publish(result, as_json=as_json, out_dir=out_dir)


@contextmanager
def _node():
    """The demo's own anvil on a fixed clock: genesis at GENESIS_TIMESTAMP, then one second per block (Ape's
    transactions and the bots' alike), so timestamps, funding, auction discounts and option values repeat."""
    with Anvil(extra_args=["--base-fee", "0", "--timestamp", str(GENESIS_TIMESTAMP)]) as node:
        rpc(node.uri, "anvil_setBlockTimestampInterval", [1])
        yield node


@contextmanager
def _deployments_in(folder: str):
    """A throwaway chain keeps a throwaway manifest; the caller's setting comes back afterwards."""
    saved = {k: os.environ.get(k) for k in ("CROSSMARGIN_DEPLOYMENTS", "CROSSMARGIN_DEPLOYMENT")}
    os.environ["CROSSMARGIN_DEPLOYMENTS"] = folder
    os.environ.pop("CROSSMARGIN_DEPLOYMENT", None)  # a user's chosen file is not the demo's
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, disable=quiet, transient=True)


def _start_bots(state: DemoState, book: Path):
    """The real bots on the demo's accounts, signing with the keys that own them (Ape's test accounts are the
    dev chain's: the same mnemonic)."""
    from crossmargin.bots.core import dev_key
    from crossmargin.demo.bots import DemoBots

    index = {dev_key(i).address: i for i in range(3 + len(BOOKS))}
    keys = {name: (index[signer.address], acct)
            for name, (signer, acct) in (("maker", state.maker), ("keeper", state.keeper), ("band", state.band))}
    # the share-rate poker signs with a key of its own (anyone may poke): the first one no book uses
    poker = 3 + len(BOOKS) if state.protocol.params.share_vaults else None
    return DemoBots(state.node.uri, book, keys, poker_key=poker, seed=SEED)


def _mark_step(state: DemoState, seconds: int) -> None:
    state.step_blocks.append((state.bots.w3.eth.block_number + 1, seconds))


def _step_line(state: DemoState, step) -> str:
    k, band = state.bots.keeper.state, state.bots.band
    return (f"crash: t+{step.seconds // 60} min, ETH {step.prices['ETH']:,.0f} · keeper: {k.started} auctions, "
            f"{k.liquidations} bids, {k.unwinds} unwinds · band agent: {band.deposited:,.0f} USD deposited")


def _advance(state: DemoState, seconds: int) -> None:
    """One block exactly `seconds` after the last (the fixed clock: `evm_increaseTime` is ignored under an
    interval)."""
    last = int(rpc(state.node.uri, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    rpc(state.node.uri, "evm_setNextBlockTimestamp", [last + seconds])
    rpc(state.node.uri, "evm_mine")


def _fund(state: DemoState) -> None:
    p, s = state.protocol, state.session
    maker = s.test_account(1)
    keeper = s.test_account(2)
    state.maker = (maker, p.open_account(signer=maker))
    state.keeper = (keeper, p.open_account(signer=keeper))
    for (signer, acct), deposits in ((state.maker, MAKER_DEPOSIT), (state.keeper, KEEPER_DEPOSIT)):
        for sym, amount in deposits.items():
            p.deposit(acct, sym, amount, signer=signer)
    for sym, amount in INSURANCE_DEPOSIT.items():  # account 1 is the insurance fund (owned by the deployer)
        p.deposit(1, sym, amount)


def _open_book(state: DemoState, book: Book) -> None:
    p, s = state.protocol, state.session
    index = 3 + BOOKS.index(book)
    trader = s.test_account(index)
    if book.isolated:
        for instrument, size in book.trades:
            spec = p.instrument(instrument)
            acct = p.open_account(signer=trader, isolated_instrument=spec.id)
            t = Tracked(book.name, acct, f"{book.name}: {instrument}", "isolated")
            state.tracked.append(t)
            _try(t, lambda: [p.deposit(acct, sym, amt, signer=trader) for sym, amt in book.split[instrument].items()])
            _try(t, lambda: _trade(state, acct, trader, instrument, size))
        return
    acct = p.open_account(signer=trader)
    t = Tracked(book.name, acct, book.name, "cross")
    state.tracked.append(t)
    _try(t, lambda: [p.deposit(acct, sym, amt, signer=trader) for sym, amt in book.deposits.items()])
    for instrument, size in book.trades:
        _try(t, lambda: _trade(state, acct, trader, instrument, size))
    for sym, amount in book.withdraw_after.items():
        _try(t, lambda: p.withdraw(acct, sym, amount, signer=trader))
    if book.band:  # the agent's reserve: cash in its owner's wallet, deposited when the ratio falls
        state.band = (trader, acct)
        units = int(BAND_RESERVE["USDC"] * 10 ** p.collateral("USDC").decimals)
        p.token("USDC").mint(trader.address, units, **s.tx_kwargs(trader))


def _trade(state: DemoState, acct: int, trader, instrument: str, size: D) -> None:
    """The trader buys `size` (sells if negative) from the market maker at `_mid`: the maker signs an order with
    the next seeded nonce, the trader fills it."""
    p = state.protocol
    maker, maker_acct = state.maker
    state.nonces += 1
    signed = p.make_order(maker_acct, instrument, "sell" if size > 0 else "buy", abs(size), _mid(p, instrument),
                          signer=maker, nonce=SEED * 1000 + state.nonces)
    p.fill(signed, acct, signer=trader)


def _try(t: Tracked, fn) -> None:
    from crossmargin.chain.errors import explain

    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - a book that cannot open is reported, not fatal
        t.note = explain(exc)
        t.opened = False


def _mid(p, instrument: str) -> D:
    """Fill price: the oracle index for linear markets, the model's Black-76 value for options."""
    spec = p.instrument(instrument)
    price = D(p.price(spec.underlying)["price"])
    if spec.is_option:
        from crossmargin.model.margin import option_price
        from crossmargin.model.portfolio import MarketState

        now = p.session.web3.eth.get_block("latest")["timestamp"]
        st = MarketState.from_params(p.listed_params).at(now)
        value = option_price(spec, float(price), st.vol[spec.underlying], now, 0.0)
        return D(str(round(value, 2)))
    return price


def _snapshot(state: DemoState, seconds: int, prices: dict) -> None:
    """The end of a step (the bots are done): prices, vols and every account's health."""
    state.prices.append({"t": seconds, **prices})
    demo_shares.snapshot(state, seconds)
    state.vols.append({"t": seconds, **{u.symbol: float(state.protocol.vol_oracle.vol(u.id)[0]) / 1e18
                                        for u in state.protocol.listed_params.underlyings}})
    _sample_health(state, seconds, "after")


def _sample_health(state: DemoState, seconds: int, phase: str) -> None:
    """Every tracked account's margin now: `before` the bots act on a step's prices, or `after` they are done."""
    for t in state.tracked:
        m = state.protocol.margin(t.account)
        t.history.append({"t": seconds, "phase": phase, "equity_mm": float(m["equity_mm"]), "mm": float(m["mm"]),
                          "equity_im": float(m["equity_im"]), "im": float(m["im"]), "health": m["health"],
                          "positions": len(m["positions"])})

