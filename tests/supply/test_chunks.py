"""Chunking a supply plan into independent groups of SKUs (ORM-free)."""

from __future__ import annotations

import numpy as np

from supply.chunks import pack_chunks, resource_groups


def test_products_linked_by_a_chain_of_shared_resources_form_one_group():
    products = np.array([10, 11, 12, 13, 14])
    # 10 and 11 share R1, 11 and 12 share R2: one group. 13 alone on R3. 14 unrouted.
    labels = resource_groups(
        products, np.array([10, 11, 11, 12, 13, 99]), np.array([1, 1, 2, 2, 3, 1])
    )
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_chunks_hold_whole_groups_up_to_the_size():
    groups = np.array([0, 0, 1, 2, 2, 2, 3])
    weights = np.array([1, 1, 1, 1, 1, 1, 1])
    chunks = pack_chunks(groups, weights, size=3)
    assert [c.tolist() for c in chunks] == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_group_heavier_than_the_size_is_a_chunk_of_its_own():
    chunks = pack_chunks(np.array([5, 5, 5, 7]), np.array([2, 2, 2, 1]), size=3)
    assert [c.tolist() for c in chunks] == [[0, 1, 2], [3]]
    assert pack_chunks(np.array([]), np.array([]), size=3) == []
