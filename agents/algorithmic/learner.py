"""The trainable CPU learner for the algorithmic tasks: a small message-passing network (encode, process with
one shared round applied `task.rounds` times, decode) in torch, as a `Student`, and `GraphNetDistiller`, which
trains M_{k+1} from M_k on a list of examples with Adam.

The same network reads every task through `AlgorithmicTask.encode`: node features, directed edges (with
features), a query token (power, hop budget or variable) given to every round together with the round number,
and either a pointer over nodes or a class read at one node. Nothing in it knows the task's algorithm; what to
pass along and when to stop is learned from the targets.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from agents.algorithmic.tasks import AlgorithmicTask, Answer, GraphArrays, Query
from oversight.ida.interfaces import Example

_EVAL_CHUNK = 2048  # queries per forward pass when answering: bounds the per-edge message tensor


class GraphNet(nn.Module):
    """Message passing with max aggregation over `task`'s encoding; returns logits `(B, task.n_outputs)`."""

    def __init__(self, task: AlgorithmicTask, hidden: int = 48) -> None:
        super().__init__()
        self.rounds, d = task.rounds, hidden
        self.node_in = nn.Linear(task.node_features, d)
        self.edge_in = nn.Linear(task.edge_features, d, bias=False) if task.edge_features else None
        self.token = nn.Embedding(task.n_tokens, d)
        self.step = nn.Embedding(task.rounds + 1, d)
        self.send = nn.Linear(d, d)
        self.receive = nn.Linear(d, d, bias=False)
        # the first update layer, split by input so the query/round part is computed once per item, not per node
        self.update_node = nn.Linear(2 * d, d)
        self.update_ctx = nn.Linear(d, d, bias=False)
        self.update_out = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d)
        self.point = nn.Linear(d, 1) if task.pointer else None
        self.classify = (
            nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, task.n_classes)) if task.n_classes else None
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        b, n, _ = batch["nodes"].shape
        h = self.node_in(batch["nodes"]).reshape(b * n, -1)
        src, dst = batch["src"], batch["dst"]  # edges over the flattened (B * N) nodes
        edge = self.edge_in(batch["edges"]) if self.edge_in is not None else None
        tok = self.token(batch["token"])
        index = dst[:, None].expand(-1, h.shape[1])
        for t in range(1, self.rounds + 1):
            msg = self.send(h)[src] + self.receive(h)[dst]
            if edge is not None:
                msg = msg + edge
            # max over incoming messages; they are >= 0 after relu, so a node nobody sends to keeps 0
            agg = torch.zeros_like(h).scatter_reduce(0, index, F.relu(msg), reduce="amax", include_self=True)
            ctx = self.update_ctx(tok + self.step.weight[t]).repeat_interleave(n, 0)
            hidden = F.relu(self.update_node(torch.cat([h, agg], -1)) + ctx)
            h = self.norm(h + self.update_out(hidden))
        h = h.reshape(b, n, -1)
        parts = [self.point(h).squeeze(-1)] if self.point is not None else []
        if self.classify is not None:
            read = h[torch.arange(b), batch["readout"]]
            parts.append(self.classify(torch.cat([read, tok], -1)))
        return torch.cat(parts, -1)


def _tensors(arrays: GraphArrays, index: np.ndarray | slice = slice(None)) -> dict[str, torch.Tensor]:
    adj = arrays.adj[index]
    item, u, v = np.nonzero(adj)
    n = adj.shape[1]
    out = {
        "nodes": torch.from_numpy(arrays.nodes[index]),
        "src": torch.from_numpy(item * n + u),
        "dst": torch.from_numpy(item * n + v),
        "token": torch.from_numpy(arrays.token[index]),
    }
    if arrays.edges is not None:
        out["edges"] = torch.from_numpy(arrays.edges[index][item, u, v])
    if arrays.readout is not None:
        out["readout"] = torch.from_numpy(arrays.readout[index])
    return out


class GraphNetStudent:
    """M_k: a `GraphNet` answering queries of `task` in one forward pass each (batched)."""

    def __init__(self, task: AlgorithmicTask, net: GraphNet, identity: str, *, root: str | None = None) -> None:
        self.task = task
        self.net = net
        self.identity = identity
        self.root = root or identity  # the M_0 this student descends from (names its successors)

    @classmethod
    def initial(cls, task: AlgorithmicTask, *, seed: int = 0, hidden: int = 48) -> GraphNetStudent:
        """M_0: an untrained network with weights drawn from `seed`."""
        torch.manual_seed(seed)
        root = f"graphnet/{task.name}/d{task.difficulty}/s{seed}"
        return cls(task, GraphNet(task, hidden), f"{root}/it0", root=root)

    def logits(self, queries: Sequence[Query]) -> torch.Tensor:
        """Output logits `(len(queries), task.n_outputs)` without gradients."""
        self.net.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(queries), _EVAL_CHUNK):
                parts.append(self.net(_tensors(self.task.encode(queries[start : start + _EVAL_CHUNK]))))
        return torch.cat(parts) if parts else torch.empty(0, self.task.n_outputs)

    async def answer(self, queries: Sequence[Query]) -> list[Answer]:
        """The most likely answer to each query."""
        if not queries:
            return []
        best = self.logits(queries).argmax(-1).tolist()
        return [self.task.answer_at(q, i) for q, i in zip(queries, best, strict=True)]


class GraphNetDistiller:
    """Distillation by training: `distil(examples, student, k)` copies M_k's network (or starts afresh with
    `warm_start=False`) and takes `steps` Adam steps on minibatches of the examples; returns M_{k+1}. Raises
    ValueError, naming the example, for a target outside the task's answer space, and for no examples."""

    def __init__(
        self,
        task: AlgorithmicTask,
        *,
        steps: int = 400,
        batch_size: int = 128,
        lr: float = 3e-3,
        seed: int = 0,
        warm_start: bool = True,
        name: str = "graphnet",
    ) -> None:
        if steps < 1 or batch_size < 1 or not lr > 0:
            raise ValueError(f"steps, batch_size and lr: must be positive, got {steps}, {batch_size}, {lr}")
        self.task, self.steps, self.batch_size, self.lr = task, steps, batch_size, lr
        self.seed, self.warm_start, self.name = seed, warm_start, name
        self.losses: list[float] = []  # the last minibatch loss of each distil call

    def _targets(self, examples: Sequence[Example]) -> np.ndarray:
        """A `(len(examples), n_outputs)` mask of the outputs that mean each example's target."""
        out = np.zeros((len(examples), self.task.n_outputs), bool)
        for i, ex in enumerate(examples):
            try:
                out[i, self.task.target_indices(ex.query, ex.target)] = True
            except ValueError as err:
                raise ValueError(f"example {i} ({ex.source}, args {ex.query.args}): {err}") from None
        return out

    async def distil(self, examples: Sequence[Example], student: GraphNetStudent, iteration: int) -> GraphNetStudent:
        """M_{iteration}, trained on `examples` starting from `student`'s weights (which are left untouched)."""
        if not examples:
            raise ValueError("no examples to distil (every amplified target was unusable)")
        y = torch.from_numpy(self._targets(examples))
        arrays = self.task.encode([ex.query for ex in examples])
        rng = np.random.default_rng([self.seed, iteration])
        torch.manual_seed(int(rng.integers(1 << 31)))
        net = copy.deepcopy(student.net) if self.warm_start else GraphNet(self.task, student.net.node_in.out_features)
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        loss = torch.zeros(())
        for _ in range(self.steps):
            idx = rng.integers(len(examples), size=min(self.batch_size, len(examples)))
            logp = F.log_softmax(net(_tensors(arrays, idx)), -1)
            # likelihood of the target: summed over every output that means it (a constant on several lines)
            loss = -torch.logsumexp(logp.masked_fill(~y[idx], -torch.inf), -1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self.losses.append(float(loss.detach()))
        return GraphNetStudent(self.task, net, f"{student.root}/{self.name}/it{iteration}", root=student.root)
