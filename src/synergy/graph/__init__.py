"""Static analysis of networks: frontends that turn a model into a :class:`~synergy.layers.LayerTable`."""
