"""Prototypical Networks (Snell et al., 2017): the functions you implement.

Shapes use N = n_way classes, K = shots per class, Q = number of queries, D = feature size.
The encoder (model.py) and the training loop (train.py) are provided.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def compute_prototypes(
    support_features: torch.Tensor, support_labels: torch.Tensor, n_way: int
) -> torch.Tensor:
    """Return the (n_way, D) class prototypes: row c is the mean support feature of class c.

    support_features: (N*K, D) float tensor, in any order (not grouped by class).
    support_labels: (N*K,) int64 tensor with values in [0, n_way).
    """
    # TODO: implement compute_prototypes as its docstring describes (shapes included).
    raise NotImplementedError("compute_prototypes is not implemented yet")


def squared_euclidean_distances(
    query_features: torch.Tensor, prototypes: torch.Tensor
) -> torch.Tensor:
    """Return the (Q, N) matrix whose entry (i, c) is ||query_i - prototype_c||^2.

    query_features: (Q, D) float tensor; prototypes: (N, D) float tensor.
    """
    # TODO: implement squared_euclidean_distances as its docstring describes (shapes included).
    raise NotImplementedError("squared_euclidean_distances is not implemented yet")


def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """Return the (Q, N) logits: the negative squared Euclidean distances to each prototype."""
    # TODO: implement protonet_logits as its docstring describes (shapes included).
    raise NotImplementedError("protonet_logits is not implemented yet")


def protonet_loss(
    support_features: torch.Tensor,
    support_labels: torch.Tensor,
    query_features: torch.Tensor,
    query_labels: torch.Tensor,
    n_way: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (loss, accuracy) of one episode.

    loss: scalar, the mean cross-entropy of the query logits against query_labels; it must be
        differentiable with respect to both support_features and query_features.
    accuracy: 0-dim tensor in [0, 1] (not a Python float), the fraction of queries whose nearest
        prototype is their class.
    support_features: (N*K, D); support_labels: (N*K,) int64; query_features: (Q, D);
    query_labels: (Q,) int64, all labels in [0, n_way).
    """
    # TODO: implement protonet_loss as its docstring describes (shapes included).
    raise NotImplementedError("protonet_loss is not implemented yet")


def sample_episode(
    class_ids: torch.Tensor,
    n_way: int,
    k_shot: int,
    q_queries: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample one N-way K-shot episode; return (support_idx, support_y, query_idx, query_y).

    class_ids: (M,) int64, the class of each of M examples in the pool.
    Picks n_way distinct classes, then k_shot + q_queries distinct examples of each.
    support_idx: (n_way*k_shot,) int64 indices into the pool; support_y: (n_way*k_shot,) int64
    labels in [0, n_way), the chosen classes relabelled 0..n_way-1 in the order they were picked.
    query_idx, query_y: the same for the n_way*q_queries queries. Support and query examples
    never overlap. Use only `generator` for randomness.
    """
    # TODO: implement sample_episode as its docstring describes (shapes included).
    raise NotImplementedError("sample_episode is not implemented yet")
