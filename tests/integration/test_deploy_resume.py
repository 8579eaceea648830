"""A deploy that fails half way resumes from the manifest: nothing is deployed twice."""

from __future__ import annotations

import pytest

from crossmargin.chain import deploy as deploy_mod
from crossmargin.chain.node import Anvil


def test_failed_deploy_resumes_without_redeploying(tmp_path):
    from crossmargin.chain.session import connect
    from crossmargin.model.params import load_params

    params = load_params("default")
    path = tmp_path / "resume.json"  # its own file: the session's deployments/31337.json belongs to another node
    with Anvil(chain_id=31337) as node, connect(node.uri, deployment=str(path)) as session:
        real_step = deploy_mod.Deployer.step

        def failing_step(self, key, fn):
            if key == "vault.list:WETH":
                raise RuntimeError("node went away")
            return real_step(self, key, fn)

        deploy_mod.Deployer.step = failing_step
        try:
            with pytest.raises(RuntimeError, match="node went away"):
                deploy_mod.deploy(session, params, fresh=True)
        finally:
            deploy_mod.Deployer.step = real_step

        from crossmargin.chain.manifest import Manifest
        partial = Manifest.load(session.chain_id, require_complete=False, path=path)
        assert not partial.complete and "vault.list:USDC" in partial.steps_done
        nonce_before = session.web3.eth.get_transaction_count(session.signer.address)

        manifest, sent = deploy_mod.deploy(session, params)
        assert manifest.complete
        # same addresses for everything deployed before the failure: nothing deployed twice
        assert partial.contracts.items() <= manifest.contracts.items()
        assert sent[0] == "vault.list:WETH" and not set(sent) & set(partial.steps_done)
        assert not set(sent) & set(partial.contracts)
        perps = [k for k in sent if k.startswith("markets.list:") and k.endswith("-PERP")]  # list + funding params
        assert session.web3.eth.get_transaction_count(session.signer.address) - nonce_before == len(sent) + len(perps)
