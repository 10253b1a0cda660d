"""emg's economics, off chain: the Spear (2003) electricity market game with
Peck-Shell-Spear bids, verification electricity, and its equilibrium solvers.

This package must not import web3 (or anything of the chain layer).
"""
