"""The chain layer: compiler, local eth-tester chain, deployment and typed
contract wrappers. The economics in :mod:`market` never import it."""
