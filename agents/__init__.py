"""emg's AI agents on the chain: the chain layer (``agents.chain``), the agents
and their strategies, the simulation loop and the ``emg`` command line."""
