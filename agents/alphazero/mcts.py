"""Array-based Monte Carlo tree search over a batch of B games at once (AlphaZero PUCT).

The tree is a set of preallocated tensors with one row per game and N = num_simulations + 1
node slots per row: slot 0 is the root and simulation s writes slot s + 1 in every game (after
the nodes kept from the previous move when a subtree is reused, in every game after the most
kept by any). Selection, expansion and backup are tensor operations over all B games, so every
simulation costs one evaluator (network) call for the B new leaves, whatever B is. No Python
object per node and no recursion: the descent is a loop over depth that stops when every game
has reached a leaf, and each level is one lookup, because every node's choice is kept between
simulations and recomputed only for the nodes a simulation passed through (`_Choices`).

Sign convention: `value_sum` and `raw_value` are stored from player 0's point of view, and
converted to the view of the player to move at a node when read (`child_stats`). This keeps
backup a plain addition and stays correct for games where a player may move twice in a row.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from envs.boards import BoardGame, State

__all__ = [
    "ROOT",
    "UNVISITED",
    "Evaluator",
    "SearchOutput",
    "Tree",
    "child_stats",
    "dirichlet_noise",
    "edge_stats",
    "first_argmax",
    "graft_subtrees",
    "masked_softmax",
    "new_tree",
    "node_rows",
    "puct_search",
    "puct_select",
    "run_simulations",
    "select_actions",
    "subtree_members",
]

ROOT = 0
UNVISITED = -1
"""`children` entry of an action whose child has not been expanded yet."""

Evaluator = Callable[[State], tuple[torch.Tensor, torch.Tensor]]
"""states [B] -> (policy logits float32 [B, A], value float32 [B] in [-1, 1] for the player to move)."""

SelectFn = Callable[["Tree", torch.Tensor], torch.Tensor]
"""(tree, nodes long [K, B]: flat node indices (see `Tree.flat`), column b in game b's tree, row 0 its root)
-> action long [K * B] to follow from each node (row-major). A choice may depend only on the statistics of
the node and of its children, and on whether it is a root: the search recomputes a node's choice only after
a simulation through it."""


@dataclass
class Tree:
    """Search trees of B games with N node slots each and A actions per node."""

    prior: torch.Tensor  # float32 [B, N, A]: policy prior, 0 on illegal actions
    legal: torch.Tensor  # bool [B, N, A]
    children: torch.Tensor  # long [B, N, A]: node slot of each child or UNVISITED
    parent: torch.Tensor  # long [B, N]: parent slot (UNVISITED for the root)
    action: torch.Tensor  # long [B, N]: action that led from the parent here
    visits: torch.Tensor  # float32 [B, N]
    value_sum: torch.Tensor  # float32 [B, N]: sum of backed-up values, player 0's view
    raw_value: torch.Tensor  # float32 [B, N]: evaluator (or final) value at expansion, player 0's view
    to_play: torch.Tensor  # long [B, N]
    terminal: torch.Tensor  # bool [B, N]
    states: State  # every field [B, N, ...]
    # Edge statistics, kept beside the node ones so that selection reads one row per statistic:
    # child_visits[b, n, a] = visits of the child of n along a, child_value[b, n, a] = its value_sum from the
    # view of the player to move at n (0 where unvisited). None in hand-built trees: derived from `children`.
    child_visits: torch.Tensor | None = None  # float32 [B, N, A]
    child_value: torch.Tensor | None = None  # float32 [B, N, A]

    @property
    def batch_size(self) -> int:
        return self.visits.shape[0]

    @property
    def num_nodes(self) -> int:
        return self.visits.shape[1]

    @property
    def rows(self) -> torch.Tensor:
        """long [B]: 0..B-1, to pick one node per game with `tensor[tree.rows, node]`."""
        return self._offsets()[0]

    def flat(self, node: torch.Tensor) -> torch.Tensor:
        """long [B]: index of `node` (long [B]) in the flattened [B * N] node arrays (row-major).

        The hot path reads and writes nodes through flat indices (`index_select`, `index_copy_`,
        `index_add_` on `.view(-1)` / `.view(B * N, A)`): one index tensor instead of two broadcast
        ones, several times cheaper per call than `tensor[rows, node]` on CPUs."""
        return self._offsets()[1] + node

    def _offsets(self) -> tuple[torch.Tensor, torch.Tensor]:
        cached = self.__dict__.get("_rows_cache")
        if cached is None or cached[0].shape[0] != self.batch_size:
            rows = torch.arange(self.batch_size, device=self.visits.device)
            cached = self.__dict__["_rows_cache"] = (rows, rows * self.num_nodes)
        return cached

    def sign(self, node: torch.Tensor) -> torch.Tensor:
        """float32 [B]: +1 where player 0 is to move at `node` (long [B]), else -1."""
        return self.sign_at(self.flat(node))

    def sign_at(self, flat: torch.Tensor) -> torch.Tensor:
        """float32 [M]: +1 where player 0 is to move at the flat node indices `flat` (long [M]), else -1."""
        return 1.0 - 2.0 * self.to_play.view(-1).index_select(0, flat).float()

    def index(self, rows: torch.Tensor) -> Tree:
        """The trees of games `rows` (long [B'])."""
        fields = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "states"}
        return Tree(**{f: None if x is None else x[rows] for f, x in fields.items()}, states=self.states[rows])

    def derive_edge_stats(self) -> None:
        """(Re)build `child_visits` and `child_value` from the node statistics and `children`."""
        batch = self.children.shape[0]
        visited = (self.children >= 0).float()
        slot = self.children.clamp(min=0).view(batch, -1)
        sign = (1.0 - 2.0 * self.to_play.float())[:, :, None]
        self.child_visits = self.visits.gather(1, slot).view_as(visited) * visited
        self.child_value = sign * self.value_sum.gather(1, slot).view_as(visited) * visited

    def root_value(self) -> torch.Tensor:
        """float32 [B]: mean backed-up value of the root for the player to move there."""
        root = torch.zeros_like(self.rows)
        return self.sign(root) * self.value_sum[:, ROOT] / self.visits[:, ROOT].clamp(min=1)


@dataclass
class SearchOutput:
    """What a search returns for B root positions."""

    action: torch.Tensor  # long [B]: the search's own choice (most visited, or Gumbel's pick)
    policy_target: torch.Tensor  # float32 [B, A]: training target for the policy head
    visit_counts: torch.Tensor  # float32 [B, A]: root child visits, summing to num_simulations
    root_value: torch.Tensor  # float32 [B]: search value for the player to move at the root
    tree: Tree


ILLEGAL_PENALTY = 1e30
"""Far beyond any score or Q-value: subtracted (added) on illegal actions, it keeps them out of a max (min)
with finite arithmetic, several times cheaper on CPUs than masked_fill with infinities."""


@functools.cache
def _signs(device: torch.device) -> torch.Tensor:
    """float32 [2]: +1, -1: indexed by the player to move, turns a value of theirs into player 0's view (and back)."""
    return torch.tensor([1.0, -1.0], device=device)


def masked_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """float32 [B, A]: softmax of `logits` (float [B, A]) over the `legal` actions (bool [B, A]); 0 elsewhere
    and in rows with no legal action.

    Written out because `torch.softmax` over a last dimension this short costs ~8x more on CPUs."""
    masked = torch.where(legal, logits.float(), torch.finfo(torch.float32).min)
    exp = (masked - masked.amax(dim=-1, keepdim=True)).exp()
    return exp / exp.sum(dim=-1, keepdim=True) * legal  # the sum is >= 1: the largest entry is exp(0)


def _evaluate(game: BoardGame, evaluator: Evaluator, states: State):
    """Prior, legality, player-0 value, terminal flag and player to move of B states."""
    logits, value = evaluator(states)
    legal = game.legal_mask(states)
    prior = masked_softmax(logits, legal)  # rows with no legal move (finished games) become 0
    terminal = game.terminal(states)
    to_play = game.current_player(states)
    # Finished games take the exact result, never the network's guess.
    value0 = torch.where(terminal, game.returns(states)[:, 0], _signs(value.device)[to_play] * value.float())
    return prior, legal, value0, terminal, to_play


def new_tree(game: BoardGame, evaluator: Evaluator, roots: State, num_simulations: int) -> Tree:
    """Allocate trees for B root positions and expand the roots (one evaluator call)."""
    batch, nodes, device = roots.batch_size, num_simulations + 1, roots.device
    prior, legal, value0, terminal, to_play = _evaluate(game, evaluator, roots)

    def slots(x: torch.Tensor, fill) -> torch.Tensor:
        out = torch.full((batch, nodes, *x.shape[1:]), fill, dtype=x.dtype, device=device)
        out[:, ROOT] = x
        return out

    return Tree(
        prior=slots(prior, 0.0),
        legal=slots(legal, False),
        children=torch.full((batch, nodes, game.num_actions), UNVISITED, dtype=torch.long, device=device),
        parent=torch.full((batch, nodes), UNVISITED, dtype=torch.long, device=device),
        action=torch.full((batch, nodes), UNVISITED, dtype=torch.long, device=device),
        # The root counts its own expansion as one visit, as in mctx, so its children sum to num_simulations.
        visits=slots(torch.ones(batch, device=device), 0.0),
        value_sum=slots(value0, 0.0),
        raw_value=slots(value0, 0.0),
        to_play=slots(to_play, 0),
        terminal=slots(terminal, False),
        states=roots.map(lambda t: slots(t, 0)),  # a slot's state is written when it is expanded
        child_visits=torch.zeros(batch, nodes, game.num_actions, device=device),
        child_value=torch.zeros(batch, nodes, game.num_actions, device=device),
    )


def child_stats(tree: Tree, node: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Visit counts float32 [B, A] and mean values float32 [B, A] of the children of `node` (long [B]),
    from the view of the player to move at `node`; unvisited children have 0 visits and value 0."""
    return edge_stats(tree, tree.flat(node))


def edge_stats(tree: Tree, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`child_stats` of the nodes at flat indices `flat` (long [M], see `Tree.flat`): float32 [M, A] each."""
    if tree.child_visits is not None:
        visits = node_rows(tree.child_visits, flat)
        return visits, node_rows(tree.child_value, flat) / visits.clamp(min=1)
    children = node_rows(tree.children, flat)
    visited = (children >= 0).float()
    slot = (children.clamp(min=0) + (flat - flat % tree.num_nodes)[:, None]).view(-1)
    visits = tree.visits.view(-1).index_select(0, slot).view_as(visited) * visited
    value_sum = tree.value_sum.view(-1).index_select(0, slot).view_as(visited) * visited
    return visits, tree.sign_at(flat)[:, None] * value_sum / visits.clamp(min=1)


def node_rows(x: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """x [B, N, ...] at the flat node indices `flat` (long [M]): [M, ...]."""
    return x.view(-1, *x.shape[2:]).index_select(0, flat)


class _Choices:
    """The edge a descent follows from every node, kept between simulations.

    A selection rule reads only the statistics of a node and of its children, and a simulation changes
    only the nodes on its path (and the new leaf), so each node's choice is recomputed once, after a
    simulation that passed through it, for all the nodes of the path at once; a descent is then one
    lookup per level instead of a selection per level.
    """

    def __init__(self, tree: Tree, select: SelectFn, used: int):
        batch, nodes, self.num_actions = tree.children.shape
        device = tree.visits.device
        self.tree, self.select = tree, select
        self.roots = tree.flat(torch.zeros_like(tree.rows))  # long [B]: flat index of every root
        self.edge = torch.zeros(batch * nodes, dtype=torch.long, device=device)  # flat edge: node * A + action
        self.next = torch.full((batch * nodes,), UNVISITED, device=device)  # flat child there or UNVISITED
        # long [B * N * A]: the flat node index every edge leads to, UNVISITED where not expanded (as `children`)
        self.target = torch.where(tree.children >= 0, tree.children + self.roots[:, None, None], UNVISITED).view(-1)
        self.signs = _signs(device)
        self.always = torch.ones(batch, dtype=torch.bool, device=device)
        # the tree's arrays flattened to [B * N, ...] once (a view per use costs as much as a small op)
        flatten = lambda t: t.view(-1, *t.shape[2:])
        names = ("children", "visits", "value_sum", "raw_value", "to_play", "terminal", "child_visits", "child_value")
        self.flat = {name: flatten(getattr(tree, name)).view(-1) for name in names}
        self.flat_states = {key: flatten(field) for key, field in tree.states.items()}
        self.refresh(self.roots + torch.arange(used, device=device)[:, None])  # slots from `used` on are empty

    def refresh(self, nodes: torch.Tensor) -> None:
        """Recompute the choices at `nodes` (long [K, B]: flat indices, column b in game b's tree, row 0 its root)."""
        flat = nodes.view(-1)
        edge = flat * self.num_actions + self.select(self.tree, nodes).view(-1)
        self.edge.index_copy_(0, flat, edge)  # a node listed twice gets the same values twice
        self.next.index_copy_(0, flat, self.target.index_select(0, edge))


def _simulate(tree: Tree, game: BoardGame, evaluator: Evaluator, choices: _Choices, slot: int) -> None:
    """One simulation in every game: descend to a leaf, expand it into `slot`, back its value up."""
    flat, root = choices.flat, choices.roots
    node, path = root, [root]
    for _ in range(tree.num_nodes):  # a path can never be longer than the nodes in the tree
        # A child's slot is above its parent's and UNVISITED is negative: the max steps down where it can.
        deeper = torch.maximum(choices.next.index_select(0, node), node)
        if torch.equal(deeper, node):
            break
        node = deeper
        path.append(node)
    # `node` is now the parent of the new leaf, or a finished position, which expands nothing: stepping it
    # (any action) leaves it unchanged, so all B games share one code path, writing `slot` as scratch there.
    expands = ~flat["terminal"].index_select(0, node)
    new = root + slot
    edge = choices.edge.index_select(0, node)
    action = edge % choices.num_actions
    parents = State(**{key: field.index_select(0, node) for key, field in choices.flat_states.items()})
    leaf_states = game.step(parents, action, validate=False)
    prior, legal, value0, is_terminal, to_play = _evaluate(game, evaluator, leaf_states)

    for field, values in (
        (tree.prior, prior), (tree.legal, legal), (tree.raw_value, value0), (tree.terminal, is_terminal),
        (tree.to_play, to_play), (tree.parent, node - root), (tree.action, action),
    ):  # fmt: skip
        field[:, slot] = values  # one slot in every game: a strided copy, no index
    for key, field in tree.states.items():
        field[:, slot] = getattr(leaf_states, key)
    # A finished position has no children, so the UNVISITED written there changes nothing.
    flat["children"].index_copy_(0, edge, torch.where(expands, slot, UNVISITED))
    choices.target.index_copy_(0, edge, torch.where(expands, new, UNVISITED))

    value0 = torch.where(expands, value0, flat["raw_value"].index_select(0, node))
    nodes = torch.stack(path + [new])  # long [L + 2, B]: the path from the root, then the new leaf
    # 1 on the root, on each node a descent moved to and on the new leaf where one was expanded; 0 on the
    # repeats of a node where a game's descent had already stopped
    weight = torch.cat([choices.always[None], nodes[1:-1] != nodes[:-2], expands[None]]).float()
    weighted = weight * value0
    # One accumulation per statistic over the whole path: a node appears at most once on a path.
    flat["visits"].index_add_(0, nodes.view(-1), weight.view(-1))
    flat["value_sum"].index_add_(0, nodes.view(-1), weighted.view(-1))
    # edge d leads from path node d to path node d + 1 (the last one to the new leaf), seen by the player at d
    parents = nodes[:-1].view(-1)
    edges = choices.edge.index_select(0, parents)
    sign = choices.signs.index_select(0, flat["to_play"].index_select(0, parents))
    flat["child_visits"].index_add_(0, edges, weight[1:].view(-1))
    flat["child_value"].index_add_(0, edges, weighted[1:].view(-1) * sign)
    choices.refresh(nodes)


def run_simulations(
    tree: Tree,
    game: BoardGame,
    evaluator: Evaluator,
    select: SelectFn,
    first_free: torch.Tensor | None = None,
) -> Tree:
    """Run N - max(first_free) simulations in every game, choosing actions with `select`. Simulation s writes
    slot max(first_free) + s of every game (default first_free 1: only the root is in use); slots a game leaves
    between its own first free one and that stay empty."""
    start = 1 if first_free is None else int(first_free.max())
    if start >= tree.num_nodes:
        return tree
    if tree.child_visits is None:
        tree.derive_edge_stats()
    choices = _Choices(tree, select, start)
    for slot in range(start, tree.num_nodes):
        _simulate(tree, game, evaluator, choices, slot)
    return tree


def subtree_members(tree: Tree, actions: torch.Tensor) -> torch.Tensor:
    """bool [B, N]: the nodes of the subtree under the root's child along `actions` (long [B]);
    all False where that child was never expanded."""
    child = tree.children[tree.rows, ROOT, actions][:, None]  # [B, 1]
    ancestor = torch.arange(tree.num_nodes, device=child.device).expand_as(tree.parent)
    member = ancestor == child
    for _ in range(tree.num_nodes):  # walk every node's ancestor chain up, one level per step
        ancestor = torch.where(ancestor >= 0, tree.parent.gather(1, ancestor.clamp(min=0)), UNVISITED)
        if not bool((ancestor >= 0).any()):
            break
        member |= ancestor == child
    # Slots never backed up (visits 0) are scratch writes of simulations that expanded nothing.
    return member & (child >= 0) & (tree.visits > 0)


def graft_subtrees(tree: Tree, old: Tree, member: torch.Tensor) -> torch.Tensor:
    """Copy the nodes `member` (bool [B, N_old]) of `old` into the first slots of `tree`, keeping slot
    order (a subtree's root has the lowest slot, so it becomes the new root). Returns the first free
    slot of every game, long [B]; games with no member keep `tree`'s freshly evaluated root."""
    batch, kept = tree.batch_size, member.sum(dim=1)
    width = int(kept.max())
    if width == 0:
        return torch.ones_like(kept)
    order = torch.sort((~member).to(torch.uint8), dim=1, stable=True).indices[:, :width]  # members first
    valid = torch.arange(width, device=kept.device) < kept[:, None]  # [B, K]
    new_slot = torch.full_like(old.parent, UNVISITED)
    new_slot.scatter_(1, order, torch.where(valid, torch.arange(width, device=kept.device), UNVISITED))

    def take(x: torch.Tensor) -> torch.Tensor:  # [B, N_old, ...] -> [B, K, ...]
        index = order.view(batch, width, *([1] * (x.dim() - 2))).expand(batch, width, *x.shape[2:])
        return x.gather(1, index)

    def remap(pointer: torch.Tensor) -> torch.Tensor:  # old slot numbers -> new ones (UNVISITED if dropped)
        moved = new_slot.gather(1, pointer.clamp(min=0).flatten(1)).view_as(pointer)
        return torch.where(pointer >= 0, moved, UNVISITED)

    def put(dst: torch.Tensor, values: torch.Tensor) -> None:
        keep = valid.view(batch, width, *([1] * (dst.dim() - 2)))
        dst[:, :width] = torch.where(keep, values, dst[:, :width])

    for name in ("prior", "legal", "visits", "value_sum", "raw_value", "to_play", "terminal"):
        put(getattr(tree, name), take(getattr(old, name)))
    put(tree.children, remap(take(old.children)))
    put(tree.parent, remap(take(old.parent)))
    action = take(old.action)
    action[:, ROOT] = UNVISITED
    put(tree.action, action)
    for key, field in tree.states.items():
        put(field, take(getattr(old.states, key)))
    tree.derive_edge_stats()
    return kept.clamp(min=1)


def puct_select(tree: Tree, flat: torch.Tensor, c_init: float = 1.25, c_base: float = 19652.0) -> torch.Tensor:
    """long [M]: argmax of Q + U at the nodes `flat` (long [M], see `Tree.flat`) with AlphaZero's growing
    exploration constant.

    U = c(s) * P(s, a) * sqrt(N(s)) / (1 + N(s, a)),  c(s) = c_init + log((N(s) + c_base + 1) / c_base).
    Unvisited children get Q = 0, the value of a draw (AlphaZero's pseudocode uses the worst value,
    which starves exploration at small simulation counts). Ties go to the lowest action index.
    """
    visits, q = edge_stats(tree, flat)
    parent_visits = tree.visits.view(-1).index_select(0, flat)[:, None]
    c = c_init + torch.log1p((parent_visits + 1.0) / c_base)
    u = (c * parent_visits.sqrt()) * node_rows(tree.prior, flat) / (1.0 + visits)
    return first_argmax(q + u, node_rows(tree.legal, flat))


def first_argmax(scores: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """long [M]: the legal action with the highest score in every row (float32 [M, A], finite), the lowest
    index on ties; action 0 in rows with no legal action.

    A subtracted penalty and `max(dim).indices` (the first maximum, as `argmax`) measured about 4x cheaper
    on CPUs than `masked_fill(-inf).argmax` over rows this short; legal scores are unchanged by the penalty."""
    return (scores - ~legal * ILLEGAL_PENALTY).max(dim=1).indices


def dirichlet_noise(legal: torch.Tensor, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """float32 [B, A]: Dirichlet(alpha) samples over the legal actions of each row (0 elsewhere).

    torch's gamma sampler takes no generator, so a seed is drawn from `generator` and the
    global CPU stream is forked around the draw: results depend only on `generator`.
    """
    seed = int(torch.randint(2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gamma = torch._standard_gamma(torch.full(legal.shape, float(alpha)))
    gamma = gamma.to(legal.device) * legal
    return gamma / gamma.sum(dim=-1, keepdim=True).clamp(min=1e-12)


def puct_search(
    game: BoardGame,
    evaluator: Evaluator,
    roots: State,
    num_simulations: int,
    *,
    c_init: float = 1.25,
    c_base: float = 19652.0,
    dirichlet_fraction: float = 0.0,
    dirichlet_alpha: float | None = None,
    generator: torch.Generator | None = None,
    previous: tuple[Tree, torch.Tensor] | None = None,
) -> SearchOutput:
    """AlphaZero search from B root positions; the policy target is the root visit distribution.

    :param dirichlet_fraction: share of root prior replaced by Dirichlet noise (0.25 in self-play, 0 to evaluate).
    :param dirichlet_alpha: noise concentration; None uses `game.dirichlet_alpha`.
    :param previous: subtree reuse: the last search's tree and the actions (long [B]) played from its roots,
        so that `roots` are the positions after them. Their subtrees keep their statistics and
        `num_simulations` more simulations are added (visit counts then sum to more than that).
    """
    first_free = None
    if previous is None:
        tree = new_tree(game, evaluator, roots, num_simulations)
    else:
        member = subtree_members(*previous)
        tree = new_tree(game, evaluator, roots, num_simulations + max(int(member.sum(dim=1).max()), 1) - 1)
        first_free = graft_subtrees(tree, previous[0], member)
    if dirichlet_fraction > 0:
        if generator is None:
            raise ValueError("root noise needs a torch.Generator for reproducibility")
        alpha = game.dirichlet_alpha if dirichlet_alpha is None else dirichlet_alpha
        noise = dirichlet_noise(tree.legal[:, ROOT], alpha, generator)
        tree.prior[:, ROOT] = (1 - dirichlet_fraction) * tree.prior[:, ROOT] + dirichlet_fraction * noise
    run_simulations(tree, game, evaluator, lambda t, nodes: puct_select(t, nodes.view(-1), c_init, c_base), first_free)
    visits, _ = child_stats(tree, torch.zeros_like(tree.rows))
    target = visits / visits.sum(dim=-1, keepdim=True).clamp(min=1)
    return SearchOutput(visits.argmax(dim=1), target, visits, tree.root_value(), tree)


def select_actions(
    visit_counts: torch.Tensor, legal: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """long [B]: sample from visits^(1/T) over legal actions; T = 0 takes the most visited (lowest index on ties)."""
    if temperature == 0:
        return visit_counts.masked_fill(~legal, -1.0).argmax(dim=1)
    if generator is None:
        raise ValueError("sampling with temperature > 0 needs a torch.Generator for reproducibility")
    # Work in log space so small temperatures do not overflow; legal unvisited moves keep a tiny weight.
    logits = torch.log(visit_counts.float().clamp(min=1e-8)) / temperature
    probs = torch.softmax(logits.masked_fill(~legal, -math.inf), dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(visit_counts.device)
