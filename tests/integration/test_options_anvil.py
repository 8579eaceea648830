"""Options end to end on anvil: `crossmargin deploy` (OptionPricer wired into the RiskEngine), a call traded
through signed orders, the margin and Greeks views while it lives, time travel past expiry (expired but
unsettled: valued at intrinsic), fresh oracle answers, `Markets.settle`, `Clearinghouse.settle_account`, and the
cash: intrinsic × size minus the premium. The chain is restored from an `evm_snapshot` afterwards, so the
other tests of the session see no time travel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crossmargin.chain.engine_views import greeks_from_breakdown

WAD = 10**18
SIZE, PREMIUM, STRIKE, SETTLE = Decimal(2), Decimal(150), Decimal(3000), Decimal(3400)


@pytest.fixture
def chain_snapshot(anvil):
    from crossmargin.chain.node import rpc

    snap = rpc(anvil.uri, "evm_snapshot")
    yield
    rpc(anvil.uri, "evm_revert", [snap])


def test_option_trade_expire_settle(deployed, anvil, chain_snapshot):
    from crossmargin.chain.node import rpc
    from crossmargin.chain.protocol import Protocol
    from crossmargin.chain.session import connect

    with connect(anvil.uri) as session:
        p = Protocol.load(session)
        assert p.risk.option_pricer() == deployed["contracts"]["OptionPricer"]
        maker, taker = session.test_account(5), session.test_account(6)
        p.set_price("ETH", STRIKE)
        p.set_vol("ETH", Decimal("0.6"))
        maker_acct, taker_acct = p.open_account(signer=maker), p.open_account(signer=taker)
        for acct, who in ((maker_acct, maker), (taker_acct, taker)):
            p.deposit(acct, "USDC", Decimal(100_000), signer=who)
        spec = p.instrument("ETH-C-3000-30D")
        cash = {a: p.vault.cash_of(a) for a in (maker_acct, taker_acct)}

        # the taker buys 2 calls at 150 from the maker: the premium moves as cash, the position has cost 0
        p.trade(maker_acct, maker, taker_acct, taker, spec.name, SIZE, PREMIUM)
        premium = int(SIZE * PREMIUM * WAD)
        assert p.vault.cash_of(taker_acct) == cash[taker_acct] - premium
        assert p.vault.cash_of(maker_acct) == cash[maker_acct] + premium
        (pos,) = p.clearinghouse.positions_of(taker_acct)
        assert (pos[0], pos[1], pos[2]) == (spec.id, int(SIZE * WAD), 0)

        # live: equity = cash + the options' value (ATM, 30 days, 60 %: ~205 USD each), Greeks per underlying
        e_im, e_mm, im, mm, status = p.risk.margin(taker_acct)
        value = e_mm - p.vault.cash_of(taker_acct)
        assert status == 0 and 2 * 190 * WAD < value < 2 * 220 * WAD and mm > 0
        uid, delta, delta_usd, gamma, vega, theta = greeks_from_breakdown(p.risk.requirement_breakdown(taker_acct))[0]
        assert uid == 1 and 2 * WAD // 2 < delta < 2 * 6 * WAD // 10 and gamma > 0 and vega > 0 and theta < 0
        short = p.risk.requirement_breakdown(maker_acct)[0]
        assert short[15] == 2 * 3000 * WAD // 100               # short-option add-on: 1 % of 2 · 3,000

        # past expiry: fresh price answers (heartbeat 1 h), expired but unsettled = intrinsic value
        now = session.web3.eth.get_block("latest")["timestamp"]
        rpc(anvil.uri, "evm_increaseTime", [spec.expiry - now + 60])
        rpc(anvil.uri, "evm_mine")
        p.set_price("ETH", SETTLE)
        p.set_vol("ETH", Decimal("0.6"))
        intrinsic = int(SIZE * (SETTLE - STRIKE) * WAD)
        assert p.risk.margin(taker_acct)[1] == p.vault.cash_of(taker_acct) + intrinsic

        # settle: the settlement price, then each account's position closes to cash
        p.settle_expiry(spec.name)
        assert p.markets.instrument(spec.id)[4] == int(SETTLE * WAD)
        for acct in (taker_acct, maker_acct):
            p.settle_account(acct)
            assert list(p.clearinghouse.positions_of(acct)) == []
        assert p.vault.cash_of(taker_acct) - cash[taker_acct] == intrinsic - premium     # 2·400 - 300 = +500
        assert p.vault.cash_of(maker_acct) - cash[maker_acct] == premium - intrinsic     # -500
        assert p.risk.margin(taker_acct)[:4] == (p.vault.cash_of(taker_acct),) * 2 + (0, 0)
