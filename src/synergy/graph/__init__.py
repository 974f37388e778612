"""Static analysis of networks: frontends that turn a model into a :class:`~synergy.graph.layers.LayerTable`."""
