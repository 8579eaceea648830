"""Linear products end to end on anvil: two accounts trade a perp and a future through signed orders (the Python
client, as the CLI does), funding accrues over mined time and is paid by the long, the future expires, is settled
from a fresh oracle price, and both positions close to cash. The chain is restored afterwards (evm_snapshot)."""

from __future__ import annotations

from decimal import Decimal

import pytest

WAD = 10**18


@pytest.fixture
def chain_snapshot(anvil):
    from crossmargin.chain.node import rpc

    snap = rpc(anvil.uri, "evm_snapshot")
    yield
    rpc(anvil.uri, "evm_revert", [snap])


def _warp(uri: str, seconds: int) -> None:
    from crossmargin.chain.node import rpc

    rpc(uri, "evm_increaseTime", [seconds])
    rpc(uri, "evm_mine")


def test_perp_funding_and_future_settlement(deployed, anvil, chain_snapshot):
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect

    with connect(anvil.uri) as session:
        p = Protocol.load(session)
        long_, short = session.test_account(7), session.test_account(8)
        p.set_price("ETH", Decimal(3000))
        a_long, a_short = p.open_account(signer=long_), p.open_account(signer=short)
        for acct, who in ((a_long, long_), (a_short, short)):
            p.deposit(acct, "USDC", Decimal(200_000), signer=who)
        perp, future = p.instrument("ETH-PERP"), p.instrument("ETH-30D")

        # the long buys 5 perps above the index: the mark EMA sits above the index, so longs pay funding
        p.trade(a_short, short, a_long, long_, perp.name, Decimal(5), Decimal(3030))
        p.trade(a_short, short, a_long, long_, future.name, Decimal(5), Decimal(3000))
        index0 = p.markets.funding_index(perp.id)
        _warp(anvil.uri, 3 * 3600)
        p.set_price("ETH", Decimal(3000))   # fresh answers after the jump (1 h heartbeat)
        assert p.markets.funding_index(perp.id) > index0, "funding accrues while mark > index"

        def settle_funding(acct: int) -> tuple[int, int]:
            """(cash change, 5 x the index moved since the position's snapshot): each account settles in its own
            block, at the index stored by that settlement (funding keeps accruing every second)."""
            snapshot = p.clearinghouse.position(acct, perp.id)[3]
            cash = p.vault.cash_of(acct)
            p.settle_account(acct)
            return p.vault.cash_of(acct) - cash, 5 * (p.markets.funding_state(perp.id)[0] - snapshot)

        paid, owed = settle_funding(a_long)
        received, due = settle_funding(a_short)
        assert owed > 0 and -paid == owed          # the long pays size x index change, exactly (5 units: no rounding)
        assert received == due >= owed             # the short receives as much, accrued up to its own block

        # close the perp (the long sells 5 back), so only the future is left to settle
        p.trade(a_long, long_, a_short, short, perp.name, Decimal(5), Decimal(3000))
        assert [int(pos[0]) for pos in p.clearinghouse.positions_of(a_long)] == [future.id]

        # the future expires; settled once from a fresh OK price; both sides close to cash
        now = session.web3.eth.get_block("latest")["timestamp"]
        _warp(anvil.uri, future.expiry - now + 60)
        p.set_price("ETH", Decimal(3300))
        p.settle_expiry(future.name)
        assert p.markets.instrument(future.id)[4] == 3300 * WAD
        cash_before = {a: p.vault.cash_of(a) for a in (a_long, a_short)}
        for acct in (a_long, a_short):
            p.settle_account(acct)
            assert future.id not in [int(pos[0]) for pos in p.clearinghouse.positions_of(acct)]
        pnl = 5 * (3300 - 3000) * WAD
        gained = p.vault.cash_of(a_long) - cash_before[a_long]
        lost = cash_before[a_short] - p.vault.cash_of(a_short)
        assert gained <= lost and lost - gained <= 10       # zero-sum up to protocol-favouring rounding
        assert pnl - 10 <= gained <= pnl                    # exactly the future's PnL, rounded against the account
