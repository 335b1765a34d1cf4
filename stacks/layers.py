"""The layers of an environment, in apply order. A stack may only consume outputs of layers before it.
Kept free of CDK imports so the CLI can validate arguments before loading the framework."""

LAYERS = ("bootstrap", "network", "security", "cluster", "data", "observability")
