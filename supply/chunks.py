"""Splitting a supply plan into chunks that can be computed apart. ORM-free.

Capacity couples the SKUs that share a resource: cutting one frees hours for another. Two
SKUs are in the same group when a chain of shared resources links them (the connected
components of the product-resource graph); groups are independent, so a chunk is a set of
whole groups, and a SKU without a routing is a group of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def resource_groups(
    products: np.ndarray, routing_products: np.ndarray, routing_resources: np.ndarray
) -> np.ndarray:
    """Group label of each product: products linked through shared resources share it.

    `routing_products` and `routing_resources` are the two columns of the routings; those
    of products not in `products` are ignored.
    """
    products = np.asarray(products)
    position = pd.Index(products).get_indexer(np.asarray(routing_products))
    known = position >= 0
    resources, resource_pos = np.unique(np.asarray(routing_resources)[known], return_inverse=True)
    n = products.size
    # Bipartite graph: nodes 0..n-1 are products, n.. are resources.
    size = n + resources.size
    graph = coo_matrix(
        (np.ones(known.sum()), (position[known], n + resource_pos)), shape=(size, size)
    )
    _, labels = connected_components(graph, directed=False)
    return labels[:n]


def pack_chunks(groups: np.ndarray, weights: np.ndarray, size: int) -> list[np.ndarray]:
    """Positions of the items of each chunk: whole groups, filled up to `size` weight.

    Groups are packed in order of first appearance; a group heavier than `size` is a chunk
    of its own.
    """
    groups = np.asarray(groups)
    if groups.size == 0:
        return []
    order = pd.unique(groups)
    weight = pd.Series(np.asarray(weights, dtype=float)).groupby(groups).sum().loc[order]
    # A new chunk starts where the running total would pass a multiple of `size`.
    chunk_of_group: dict[int, int] = {}
    chunk, filled = 0, 0.0
    for group, w in weight.items():
        if filled > 0 and filled + w > size:
            chunk, filled = chunk + 1, 0.0
        chunk_of_group[group] = chunk
        filled += w
    chunk_ids = pd.Series(groups).map(chunk_of_group).to_numpy()
    return [np.flatnonzero(chunk_ids == c) for c in range(chunk + 1)]
