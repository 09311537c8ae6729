"""What a drawing contains, decided before any DOT is written.

``build_scene`` turns a drawing target (a Tensor, a list of records, or an
engine with ``records()`` and ``gradients()``) into a ``Scene``: value nodes
and operation nodes in a fixed order, each with its drawing id, plus the
clusters and the note about what was left out. Ids come from positions in
the drawn graph (``v1, v2, ...`` by first appearance, ``op1, op2, ...`` in
recording order, ``scope1, ...`` for scopes), never from tape indices or
addresses, so the same program always gives the same scene.

The building blocks are *units*: one recorded operation, or one scope drawn
as a box. Collapsing and ``max_nodes`` only choose which units to draw; the
value nodes are whatever the chosen units read and write.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.tape import KEEP_FOR_DRAWING, tape_of
from ..core.tensor import changed_since

KINDS = ("param", "const", "intermediate", "root")


@dataclass
class ValueNode:
    id: str            # "v3"
    tensor: object     # the Tensor (a ``_Freed`` stand-in if its record outlived it)
    kind: str          # one of KINDS
    cluster: str = None
    changed: bool = False   # its values changed after an operation drawn here read them

    @property
    def label(self):
        """What the drawing calls this value: the tensor's name, else its id (``v3``)."""
        return self.tensor.name or self.id


@dataclass
class OpNode:
    id: str                 # "op2" for one operation, "scope1" for a collapsed scope
    records: list           # the operation's record, or every record of the scope
    inputs: list            # input value ids, in argument order (repeats kept: x * x)
    outputs: list           # output value ids
    scope: str = None       # the scope name when this node is a collapsed scope
    cluster: str = None     # the cluster id when drawn inside one


@dataclass
class Cluster:
    id: str            # "scope1"
    label: str         # the scope's name
    operations: int


@dataclass
class Scene:
    values: list
    ops: list
    clusters: list
    grads: dict                       # tensor _id -> gradient array (what the drawing shows)
    note: str = None                  # what was left out, if anything
    boundary: list = field(default_factory=list)   # value ids whose producer was left out
    records: int = 0                  # how many operations the target holds in total
    _index: dict = None

    def id_of(self, item):
        """The drawing id of a Tensor (``v3``) or a Record (``op2`` or its ``scope1`` box)."""
        if self._index is None:
            self._index = {("value", v.tensor._id): v.id for v in self.values}
            self._index.update({("op", r.index): op.id for op in self.ops for r in op.records})
        if hasattr(item, "primitive"):
            return self._index.get(("op", item.index))
        return self._index.get(("value", getattr(item, "_id", item)))


class _Freed:
    """Stands in for an output Tensor that no longer exists (its record outlived it)."""

    requires_grad = True
    name = None
    _data = None

    def __init__(self, record):
        self._id = ("freed", record.index)
        self._record = record


@dataclass
class _Unit:
    records: list
    inputs: list       # Tensors, in argument order
    outputs: list      # Tensors
    scope: tuple = None    # the scope path drawn as one box or one cluster
    mode: str = None       # "box" or "cluster" when ``scope`` is set
    run: int = 0           # which contiguous run of that scope (a module called twice: 2 runs)


def _output(record):
    out = record.output()
    return out if out is not None else _Freed(record)


def pass_gradients(tensor):
    """The gradients of the latest backward pass started from ``tensor`` ({} if none)."""
    return dict(tensor._pass.grads) if tensor._pass is not None else {}


def _sources(target):
    """(records, gradients-or-callable, root tensor ids) for any drawing target."""
    if hasattr(target, "_record") and hasattr(target, "_data"):        # a Tensor
        return tape_of(target), lambda: pass_gradients(target), {target._id}
    if callable(getattr(target, "records", None)) and callable(getattr(target, "gradients", None)):
        records = list(target.records())
        return records, target.gradients, _sinks(records)
    if isinstance(target, (list, tuple)):
        records = list(target)
        sinks = _sinks(records)

        def merged():
            grads = {}
            for record in records:
                out = record.output()
                if out is not None and out._id in sinks:
                    grads.update(pass_gradients(out))
            return grads
        return records, merged, sinks
    raise TypeError(f"draw: cannot draw a {type(target).__name__}; expected a Tensor, a list of "
                    f"records (a tape) or an autograd engine with records() and gradients()")


def _sinks(records):
    """Ids of outputs that no record in ``records`` reads: the results (e.g. the loss)."""
    read = {t._id for r in records for t in r.inputs}
    return {_output(r)._id for r in records} - read


def _ancestors(records, tensor):
    """The records ``tensor`` depends on, in the order given."""
    needed = {tensor._id}
    kept = []
    for record in reversed(records):
        if _output(record)._id in needed:
            kept.append(record)
            needed.update(t._id for t in record.inputs)
    kept.reverse()
    return kept


def _group_paths(records, collapse):
    """For each record, the scope path it is collapsed into (or None)."""
    if collapse is True:
        return [r.scope[:1] or None for r in records]
    names = [collapse] if isinstance(collapse, str) else list(collapse)
    paths = []
    for record in records:
        path = None
        for depth, name in enumerate(record.scope):
            if name in names:
                path = record.scope[:depth + 1]
                break
        paths.append(path)
    return paths


def _units(records, collapse, mode, roots):
    """Group the records into units: one per operation, one per run of a collapsed scope.

    A scope's records form one unit per *contiguous run* in recording order,
    so a module called twice is drawn as two boxes.
    """
    paths = _group_paths(records, collapse) if collapse else [None] * len(records)
    runs = []
    for record, path in zip(records, paths):
        if path is not None and runs and runs[-1][0] == path:
            runs[-1][1].append(record)
        else:
            runs.append((path, [record]))
    if mode == "cluster":
        return [_Unit([r], list(r.inputs), [_output(r)], path, "cluster" if path else None, run)
                for run, (path, members) in enumerate(runs) for r in members]
    read_by = {}
    for index, (path, members) in enumerate(runs):
        for r in members:
            for t in r.inputs:
                read_by.setdefault(t._id, set()).add(index)
    units = []
    for index, (path, members) in enumerate(runs):
        if path is None:
            record = members[0]
            units.append(_Unit([record], list(record.inputs), [_output(record)]))
            continue
        made = {_output(r)._id for r in members}
        inputs, seen = [], set()
        for r in members:
            for t in r.inputs:
                if t._id not in made and t._id not in seen and not is_literal(t):
                    seen.add(t._id)
                    inputs.append(t)
        outputs = [_output(r) for r in members
                   if _output(r)._id in roots or read_by.get(_output(r)._id, set()) - {index}]
        units.append(_Unit(members, inputs, outputs, path, "box"))
    return units


def is_literal(tensor):
    """An unnamed one-element constant, like the 2 in ``x * 2``: hidden inside a scope box."""
    return (tensor._record is None and not tensor.requires_grad and tensor.name is None
            and tensor._data is not None and tensor._data.size == 1)


def _within_budget(units, max_nodes):
    """The last units whose nodes (values and operations) fit in ``max_nodes``."""
    kept, values = [], set()
    for unit in reversed(units):
        new = {t._id for t in unit.inputs + unit.outputs} - values
        if kept and len(kept) + 1 + len(values) + len(new) > max_nodes:
            break
        kept.append(unit)
        values |= new
    kept.reverse()
    return kept


def _kind(tensor, roots):
    if tensor._id in roots:
        return "root"
    if tensor._record is None:
        return "param" if tensor.requires_grad else "const"
    return "intermediate"


def build_scene(target, *, grads=True, only_ancestors_of=None, collapse=None,
                collapse_mode="box", max_nodes=None, auto_collapse_over=None):
    """Decide every node and edge of the drawing (see ``autodiff_nb.draw.draw``)."""
    if collapse_mode not in ("box", "cluster"):
        raise ValueError(f"draw: collapse_mode must be 'box' or 'cluster', got {collapse_mode!r}")
    records, grad_source, roots = _sources(target)
    notes = []
    released = getattr(target, "_pass", None)
    if released is not None and released.released:
        records = []
        notes.append("the graph was released after backward (its gradients took more than "
                     f"{KEEP_FOR_DRAWING // 1024} KiB); draw before backward, or pass "
                     "retain_graph=True, to see every operation")
    total = len(records)
    if only_ancestors_of is not None:
        records = _ancestors(records, only_ancestors_of)
        roots = {only_ancestors_of._id}
    if collapse is None:
        collapse = bool(auto_collapse_over is not None and len(records) > auto_collapse_over
                        and any(r.scope for r in records))
        if collapse:
            notes.append(f"{len(records):,} operations: scopes drawn as boxes "
                         f"(collapse=False draws every operation)")
    units = _units(records, collapse, collapse_mode, roots)
    if not records and hasattr(target, "_record"):
        units = []
    drawn = units
    if max_nodes is not None and len(units) > 0:
        drawn = _within_budget(units, max(int(max_nodes), 2))
    scene = _number(drawn, roots, target if not records and hasattr(target, "_record") else None)
    scene.records = total
    if len(drawn) < len(units):
        left_ops = sum(len(u.records) for u in units) - sum(len(u.records) for u in drawn)
        all_values = {t._id for u in units for t in u.inputs + u.outputs}
        left_values = len(all_values) - len(scene.values)
        notes.append(f"{left_ops:,} earlier operation{'s' * (left_ops != 1)} and "
                     f"{left_values:,} value{'s' * (left_values != 1)} not drawn "
                     f"(max_nodes={max_nodes})")
        made = {t._id for u in drawn for t in u.outputs}
        scene.boundary = [v.id for v in scene.values
                          if v.kind == "intermediate" and v.tensor._id not in made]
    scene.note = "; ".join(notes) or None
    scene.grads = _grads(grads, grad_source)
    return scene


def _number(units, roots, lone_tensor):
    """Give every node its id from its position in the drawing."""
    values, ops, clusters = [], [], []
    value_ids, cluster_ids = {}, {}

    def value(tensor, cluster=None):
        key = tensor._id
        if key not in value_ids:
            value_ids[key] = f"v{len(values) + 1}"
            values.append(ValueNode(value_ids[key], tensor, _kind(tensor, roots), cluster))
        return value_ids[key]

    if lone_tensor is not None:
        value(lone_tensor)
    boxes = 0
    inside = _inside_only(units)
    for unit in units:
        cluster = None
        if unit.mode == "cluster":
            key = (unit.scope, unit.run)
            if key not in cluster_ids:
                cluster_ids[key] = Cluster(f"scope{len(clusters) + 1}", unit.scope[-1], 0)
                clusters.append(cluster_ids[key])
            cluster_ids[key].operations += 1
            cluster = cluster_ids[key].id
        inputs = [value(t, cluster if inside.get(t._id) == (unit.scope, unit.run) else None)
                  for t in unit.inputs]
        if unit.mode == "box":
            boxes += 1
            node_id = f"scope{boxes}"
        else:
            node_id = f"op{len(ops) + 1 - boxes}"
        outputs = [value(t, cluster) for t in unit.outputs]
        ops.append(OpNode(node_id, unit.records, inputs, outputs,
                          unit.scope[-1] if unit.mode == "box" else None, cluster))
    _mark_changed(values, units)
    return Scene(values, ops, clusters, {})


def _mark_changed(values, units):
    """Mark the leaves whose values changed after the newest drawn operation read them."""
    read_at = {}
    for unit in units:
        for t in unit.inputs:
            read_at[t._id] = max(read_at.get(t._id, -1), unit.records[-1].index)
    for node in values:
        tensor = node.tensor
        if tensor._record is None and tensor._id in read_at:
            node.changed = changed_since(tensor, read_at[tensor._id])


def _inside_only(units):
    """Leaves read only by the operations of one cluster: drawn inside that cluster."""
    scopes = {}
    for unit in units:
        for t in unit.inputs:
            if t._record is None:
                scopes.setdefault(t._id, set()).add(
                    (unit.scope, unit.run) if unit.mode == "cluster" else None)
    return {key: next(iter(s)) for key, s in scopes.items() if len(s) == 1 and None not in s}


def _grads(grads, source):
    """The gradients to show: none, the engine's latest ones, or the caller's own."""
    if grads is False or grads is None:
        return None
    if grads is True:
        return source()
    return {getattr(key, "_id", key): value for key, value in dict(grads).items()}
