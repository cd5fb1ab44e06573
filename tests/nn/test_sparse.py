"""SparseOperator: A @ H and its gradient equal the dense computation."""

import torch

from plexus.nn.sparse import SparseOperator


def _random_sparse(rows, cols, density, seed):
    g = torch.Generator().manual_seed(seed)
    dense = torch.rand(rows, cols, generator=g, dtype=torch.float64)
    dense[dense > density] = 0
    return dense


def test_forward_and_gradient_match_dense():
    a = _random_sparse(30, 20, 0.2, 0)
    h = torch.randn(20, 5, dtype=torch.float64, requires_grad=True)
    out = SparseOperator(a.to_sparse()) @ h
    ref = a @ h
    assert torch.allclose(out, ref)
    w = torch.randn(30, 5, dtype=torch.float64)
    (g_ours,) = torch.autograd.grad((out * w).sum(), h)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), h)
    assert torch.allclose(g_ours, g_ref)


def test_symmetric_operator_reuses_the_matrix_for_the_backward():
    a = _random_sparse(25, 25, 0.3, 1)
    a = a + a.t()
    op = SparseOperator(a.to_sparse(), symmetric=True)
    assert op.a_t is op.a
    h = torch.randn(25, 4, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((op @ h).pow(2).sum(), h)
    (g_ref,) = torch.autograd.grad((a @ h).pow(2).sum(), h)
    assert torch.allclose(g, g_ref)
    assert torch.equal(op.dense(), a)
