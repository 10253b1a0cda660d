"""The ``emg`` program: the application layer above the libraries.

``emg.cli`` is the entry point; ``emg.solve``, ``emg.simulate`` and
``emg.compile`` are its commands; ``emg.output`` writes output folders,
tables and plots. The libraries below it are :mod:`market` (economics, no
chain) and :mod:`agents` (the chain layer, the agents and the round loop);
neither imports this package.
"""
