// A standalone Hardhat node for crossmargin: `npx hardhat node --port 8545` from the repository root, then
// `crossmargin deploy --network http://127.0.0.1:8545`. The same dev chain as anvil's: chain id 31337, Cancun (Vyper
// 0.4 emits MCOPY and transient storage), the standard test mnemonic with 20 funded accounts (`--account TEST::0`
// .. `TEST::19`). (ape-hardhat's `--network ethereum:local:hardhat` keeps using its own managed config.)
module.exports = {
  paths: { sources: "./.cache/hardhat/none", cache: "./.cache/hardhat/cache", artifacts: "./.cache/hardhat/artifacts" },
  networks: {
    hardhat: {
      hardfork: "cancun",
      initialBaseFeePerGas: 0,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        path: "m/44'/60'/0'/0",
        count: 20,
        accountsBalance: "1000000000000000000000000",
      },
    },
  },
};
