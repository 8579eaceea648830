"""Ape views of our compiled artifacts: containers to deploy, instances at known addresses."""

from __future__ import annotations

from functools import lru_cache

from crossmargin.chain.artifacts import artifact


@lru_cache(maxsize=None)
def contract_type(name: str):
    from ethpm_types import ContractType

    art = artifact(name)
    return ContractType.model_validate({
        "contractName": art.name,
        "abi": art.abi,
        "deploymentBytecode": {"bytecode": "0x" + art.bytecode.hex()},
        "runtimeBytecode": {"bytecode": "0x" + art.runtime.hex()},
    })


def container(name: str):
    from ape.contracts import ContractContainer

    return ContractContainer(contract_type(name))


def at(name: str, address: str):
    from ape.contracts import ContractInstance

    return ContractInstance(address, contract_type(name))
