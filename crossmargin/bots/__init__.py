"""Long-running bots over a deployment: each a small object of handlers driven by `core.Loop`.

    keeper.py       liquidation keeper (`crossmargin keeper run`, `ape run keeper`)
    maker.py        market maker: signed two-sided quotes around the oracle (`crossmargin agent maker`)
    band.py         collateral-band agent: equity/IM inside [low, high] (`crossmargin agent band`)
    hedge.py        hedge orchestrator: delta under a limit with perp orders (`crossmargin agent hedge`)

    core.py         node connection, signer, nonce manager, sender (simulate, gas cap, dry run), metrics, loop
    base.py         what account-operating bots share (deployment, sender, the operated account, the book)
    reads.py        deployment contracts, Lens health scans, the account index from events
    book.py         the maker's quotes file and the taker that fills them
    liquidation.py  the keeper's adapter over the Liquidation contract
    scenario.py     fast dev-chain population (tests, keeper benchmark)
    run.py          network resolution and `run_bot`

State lives in one object per bot; every loop returns metrics (one JSON line); without a signer, or with
`--dry-run`, nothing is sent and the would-be transactions are logged.
"""
