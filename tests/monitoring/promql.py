"""PromQL helpers for the monitoring tests: parse with promql-parser and collect the metric names."""
from __future__ import annotations

import promql_parser


def metric_names(query: str) -> set[str]:
    """Every metric a query selects; raises if promql-parser cannot parse it."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)
            return
        for attribute in ("lhs", "rhs", "expr", "param", "vector_selector"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, (str, int, float)):
                walk(child)
        for argument in getattr(node, "args", None) or ():
            walk(argument)

    walk(promql_parser.parse(query))
    return names
