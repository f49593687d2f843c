"""Connect two minima by a pathway of minima and verified transition states.

The double-ended "connect" strategy of Wales's OPTIM (Trygubenko & Wales 2004, J. Chem. Phys.
120, 2082, §IV; Carr, Trygubenko & Wales 2005, J. Chem. Phys. 122, 234903) and of pele's
``DoubleEndedConnect``: a small graph of known minima (at first only A and B) and transition
states grows until A and B are joined.

Each cycle

1. picks a pair of minima to join: the closest untried pair (i, j) with i in A's connected
   component and j in B's (distance: aligned ``symmetry.distance`` for clusters, Euclidean
   otherwise). When every such pair has been tried, pairs between A's or B's component and any
   other component are offered, closest first; a pair is tried at most ``max_attempts`` times,
   each retry with twice the images;
2. relaxes a climbing-image NEB between them (:func:`levinthal.paths.neb`);
3. refines every interior local maximum of the band's energy profile (not only the highest) into
   a transition state with :func:`levinthal.saddles.refine_transition_state`, which returns
   only states passing :func:`levinthal.saddles.verify_transition_state` (one negative
   eigenvalue after the zero modes are removed);
4. descends from each new transition state along both sides of its unstable mode
   (:func:`levinthal.saddles.descend_from_saddle`), identifies the two minima with known ones
   (``symmetry.same`` for clusters; Euclidean distance and energy tolerances otherwise) or adds
   them, and adds the edge.

It stops as soon as A and B lie in one connected component. The reported pathway is the one
whose highest transition state is lowest (a minimax path: edges are added in order of TS
energy until A and B join, then a breadth-first search among those edges), so the reported
barrier is the lowest one the graph knows of.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levinthal.landscape import (
    LandscapeError,
    Result,
    TransitionState,
    checked,
    native_point,
    symmetry_of,
    to_numpy,
)

__all__ = ["NEB_DEFAULTS", "ConnectResult", "connect"]

NEB_DEFAULTS: dict[str, Any] = {"rms_tol": 1e-2, "max_iterations": 50}
"""NEB settings of a connect cycle unless ``neb_options`` says otherwise: a loose, short band
(largest image RMS force 1e-2, at most 50 steps), since the band only supplies guesses: every
interior maximum is refined to a verified transition state by eigenvector following, as OPTIM
hands its DNEB maxima to hybrid EF (Trygubenko & Wales 2004). A band that has not converged
within the budget still offers its maxima for refinement, and a rough band offers several, so
one cycle often adds several transition states.

Measured on LJ38, Oh global minimum → lowest icosahedral minimum
(``benchmarks/bench_connect_lj38.py``; seeds 0–5, 8 images, ``record_profile=False``; energy+gradient
calls + HVPs): 50 steps a median 13.6k (12.6k–21.0k) in 5–13 cycles; 200 steps a median 50.2k
(22.0k–106.6k, up to 33 cycles), most of it in bands that never converge; 75 steps a median
12.8k (up to 22.6k); 35 steps 14.8k (up to 18.2k); 25 steps up to 31 cycles (median 18.4k, up to
38.7k). Müller–Brown A→B (8 images): 489 force calls with 50 steps, 694 with 200 (no profile)."""


@dataclass
class ConnectResult(Result):
    """A pathway between two minima, or the partial graph when none was found.

    ``minima``: list of ``(x, energy)`` with ``x`` a NumPy vector ``(dim,)``; index 0 is A and
    index 1 is B. ``transition_states``: every verified :class:`TransitionState` found, with
    ``minus``/``plus`` the indices of the minima reached by descending from ``x − δv`` / ``x + δv``.
    ``path``: alternating list ``[("min", 0), ("ts", k), ("min", m), ..., ("min", 1)]`` from A
    to B (empty when not converged). ``profile``: dict with ``s`` (integrated path length) and
    ``energy`` along the whole pathway (steepest-descent paths of each TS concatenated when
    ``record_profile``; otherwise straight segments through the stationary points, each as long
    as the Euclidean distance from the TS to the minimum its descent reached, in the TS's frame),
    ``stationary_s``/``stationary_energy``/``stationary_kind`` for the minima and transition
    states on the path, and ``points`` (``(m, dim)``) when recorded and the
    landscape has no rigid-body symmetry (cluster segments each lie in their own frame).
    ``highest_barrier``: max TS energy on the path − E_A. ``cycles``: NEB cycles run.
    ``counts``: every evaluation, endpoint quenches, NEBs, refinements and descents included.
    """

    minima: list[tuple[np.ndarray, float]] = field(default_factory=list)
    transition_states: list[TransitionState] = field(default_factory=list)
    path: list[tuple[str, int]] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)
    highest_barrier: float = float("nan")
    cycles: int = 0

    def path_energies(self) -> list[float]:
        """Energies of the stationary points along ``path``, A first."""
        return [self.minima[i][1] if k == "min" else self.transition_states[i].energy for k, i in self.path]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (coordinates left out except the path's stationary points)."""
        return {
            "converged": self.converged,
            "message": self.message,
            "counts": self.counts.as_dict(),
            "cycles": self.cycles,
            "n_minima": len(self.minima),
            "n_transition_states": len(self.transition_states),
            "minima_energies": [e for _, e in self.minima],
            "transition_states": [{"energy": t.energy, "eigenvalue": t.eigenvalue, "minus": t.minus,
                                   "plus": t.plus} for t in self.transition_states],
            "path": [[k, i] for k, i in self.path],
            "path_energies": self.path_energies() if self.path else [],
            "highest_barrier": self.highest_barrier,
            "history": self.history,
        }


class _Graph:
    """Minima, transition states and the identification rules of one connect run."""

    def __init__(self, lc: Any, energy_tol: float, distance_tol: float, rng: np.random.Generator):
        self.lc = lc
        self.sym = symmetry_of(lc)
        self.energy_tol = energy_tol
        self.distance_tol = distance_tol
        self.rng = rng
        self.minima: list[tuple[np.ndarray, float]] = []
        self.ts: list[TransitionState] = []
        self.paths: list[dict[str, Any]] = []
        self._dist: dict[tuple[int, int], float] = {}

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        if self.sym is not None and hasattr(self.sym, "distance"):
            return float(self.sym.distance(native_point(self.lc, a), native_point(self.lc, b), rng=self.rng))
        return float(np.linalg.norm(a - b))

    def min_distance(self, i: int, j: int) -> float:
        key = (min(i, j), max(i, j))
        if key not in self._dist:
            self._dist[key] = self.distance(self.minima[i][0], self.minima[j][0])
        return self._dist[key]

    def same(self, a: np.ndarray, ea: float, b: np.ndarray, eb: float) -> bool:
        if abs(ea - eb) > self.energy_tol:
            return False
        if self.sym is not None and hasattr(self.sym, "same"):
            return bool(self.sym.same(native_point(self.lc, a), native_point(self.lc, b), energy_a=ea,
                                      energy_b=eb, energy_tol=self.energy_tol,
                                      distance_tol=self.distance_tol, rng=self.rng))
        return float(np.linalg.norm(a - b)) <= self.distance_tol

    def add_minimum(self, x: np.ndarray, e: float) -> tuple[int, bool]:
        """Index of the minimum ``x`` (an existing one if the same structure), and whether it is new."""
        for k, (y, ey) in enumerate(self.minima):
            if self.same(y, ey, x, e):
                return k, False
        self.minima.append((x, e))
        return len(self.minima) - 1, True

    def known_ts(self, x: np.ndarray, e: float) -> bool:
        return any(self.same(to_numpy(t.x).reshape(-1).astype(np.float64), t.energy, x, e) for t in self.ts)

    def components(self) -> list[int]:
        parent = list(range(len(self.minima)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for t in self.ts:
            parent[find(t.minus)] = find(t.plus)
        return [find(i) for i in range(len(self.minima))]


def connect(
    landscape: Any,
    x_a: Any,
    x_b: Any,
    *,
    max_cycles: int = 30,
    n_images: int = 6,
    max_attempts: int = 2,
    neb_options: dict[str, Any] | None = None,
    rms_tol: float = 1e-5,
    energy_tol: float = 1e-6,
    distance_tol: float = 1e-2,
    identical_tol: float = 1e-6,
    rng: np.random.Generator | int | None = None,
    record_profile: bool = True,
    progress: Any = None,
) -> ConnectResult:
    """Find a connected pathway of minima and verified transition states from ``x_a`` to ``x_b``.

    Parameters
    ----------
    landscape
        Any landscape (clusters use their symmetry's ``distance``/``same``; others Euclidean).
    x_a, x_b : array, shape ``(dim,)``
        The two minima. An endpoint whose RMS gradient exceeds ``rms_tol`` is minimised first
        with :func:`levinthal.minimize.minimize` and the message says so; endpoints that are
        (or quench to) the same structure raise ``ValueError``. Only the gradient is checked: a
        stationary endpoint is taken as given (its Hessian index is not tested).
    max_cycles : int
        Budget of NEB cycles (default 30). When spent, ``converged=False`` and the partial graph.
    n_images : int
        Movable NEB images of a first attempt (default 6; doubled on each retry of a pair).
        Measured on LJ38 GM → icosahedral (14 seeds, energy+gradient calls + HVPs): 6 images
        median 10.5k, largest 33.6k; 8 images median 14.1k, largest 68.5k; 4 or 5 images need
        up to 41 cycles (largest 56k): too few images miss the intermediate minima.
    max_attempts : int
        NEB attempts per pair of minima (default 2).
    neb_options : dict, optional
        Passed to :func:`levinthal.paths.neb` (``spring``, ``rms_tol``, ``max_iterations`` ...);
        unset keys take :data:`NEB_DEFAULTS` (a loose band) and ``endpoints="quench"``.
    rms_tol : float
        RMS gradient of minima and transition states (default 1e-5).
    energy_tol, distance_tol : float
        Two stationary points are the same when their energies agree within ``energy_tol``
        (default 1e-6) and their (aligned) distance is at most ``distance_tol`` (default 1e-2).
    identical_tol : float
        Endpoints closer than this RMS distance are refused (default 1e-6).
    rng
        Generator or seed (cluster alignments, Lanczos starts).
    record_profile : bool
        Integrate each TS's steepest-descent paths (gradient flow) for ``profile`` (default True).
        Costly on clusters: on LJ38 GM → icosahedral it adds ~140k–175k gradient calls to a
        search of ~10k (seeds 0–2: 149k–188k in all), since every TS found is integrated, not
        only those on the path. Pass False when only the pathway and its barrier are needed.
    progress : callable, optional
        Called as ``progress(cycle, result_so_far_message)`` after every cycle (for the CLI).

    Returns
    -------
    ConnectResult
    """
    from levinthal.minimize import minimize
    from levinthal.paths.neb import neb
    from levinthal.saddles import descend_from_saddle, refine_transition_state

    if int(max_cycles) != max_cycles or max_cycles < 0:
        raise ValueError(f"connect: max_cycles must be a non-negative integer, got {max_cycles!r}")
    rng = np.random.default_rng(rng)
    lc = checked(landscape, caller="connect")
    start = lc.counts.copy()
    dim = int(lc.dim)
    notes: list[str] = []

    ends = []
    for label, x in (("A", x_a), ("B", x_b)):
        v = to_numpy(x).astype(np.float64).reshape(-1)
        if v.size != dim:
            raise ValueError(f"connect: endpoint {label} has {v.size} values but {lc.name} has dim {dim}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"connect: endpoint {label} has non-finite values")
        e, g = lc.energy_gradient(native_point(lc, v))
        rms = float(np.linalg.norm(to_numpy(g))) / math.sqrt(dim)
        if rms > rms_tol:
            res = minimize(lc, native_point(lc, v), rms_tol=rms_tol)
            if not res.converged:
                raise ValueError(f"connect: endpoint {label} is not a minimum (RMS gradient {rms:.3g}) and "
                                 f"quenching it failed: {res.message}")
            v, e = to_numpy(res.x).astype(np.float64).reshape(-1), float(res.energy)
            notes.append(f"endpoint {label} was not a minimum (RMS gradient {rms:.3g} > {rms_tol:g}) and was "
                         f"minimised to E = {e:.10g}")
        ends.append((v, float(e)))
    graph = _Graph(lc, energy_tol, distance_tol, rng)
    d_ab = graph.distance(ends[0][0], ends[1][0])
    if d_ab / math.sqrt(dim) < identical_tol or graph.same(ends[0][0], ends[0][1], ends[1][0], ends[1][1]):
        raise ValueError(f"connect: the endpoints on {lc.name} are the same minimum (distance {d_ab:.3g}, "
                         f"energies {ends[0][1]:.10g} and {ends[1][1]:.10g}); give two different minima")
    graph.minima = list(ends)

    attempts: dict[tuple[int, int], int] = {}
    history: dict[str, list[float]] = {k: [] for k in ("pair_i", "pair_j", "distance", "images",
                                                        "neb_converged", "new_ts", "new_minima",
                                                        "force_calls")}
    cycles = 0
    stop = ""
    neb_options = dict(neb_options or {})
    neb_options.setdefault("endpoints", "quench")
    for key, value in NEB_DEFAULTS.items():
        neb_options.setdefault(key, value)
    while True:
        comp = graph.components()
        if comp[0] == comp[1]:
            break
        if cycles >= max_cycles:
            stop = f"budget of {max_cycles} cycles spent before A and B were connected"
            break
        pair = _pick_pair(graph, comp, attempts, max_attempts)
        if pair is None:
            stop = "every candidate pair of minima was tried without connecting A and B"
            break
        i, j = pair
        key = (min(i, j), max(i, j))
        attempts[key] = attempts.get(key, 0) + 1
        images = int(n_images) * 2 ** (attempts[key] - 1)
        cycles += 1
        before = lc.counts.copy()
        new_ts = new_min = 0
        opts = dict(neb_options)
        opts.setdefault("n_images", images)
        try:
            band = neb(lc, native_point(lc, graph.minima[i][0]), native_point(lc, graph.minima[j][0]),
                       climbing=True, refine=True, rng=rng, **opts)
            candidates = _band_transition_states(lc, band, refine_transition_state, rms_tol, rng)
        except (ValueError, LandscapeError) as exc:  # e.g. two minima the identification missed
            notes.append(f"cycle {cycles}: NEB between minima {i} and {j} failed: {exc}")
            band, candidates = None, []
        for ts in candidates:
            x_ts = to_numpy(ts.x).astype(np.float64).reshape(-1)
            if graph.known_ts(x_ts, ts.energy):
                continue
            try:
                minus, plus, dpath = descend_from_saddle(lc, ts, rms_tol=rms_tol, record_path=record_profile)
            except ValueError as exc:
                notes.append(f"cycle {cycles}: descent from a TS at E = {ts.energy:.10g} failed: {exc}")
                continue
            if not (minus.converged and plus.converged):
                notes.append(f"cycle {cycles}: a descent from the TS at E = {ts.energy:.10g} "
                             "did not converge")
                continue
            ends_ts = []
            for side in (minus, plus):
                x_min = to_numpy(side.x).astype(np.float64).reshape(-1)
                k, is_new = graph.add_minimum(x_min, float(side.energy))
                ends_ts.append(k)
                new_min += int(is_new)
            if ends_ts[0] == ends_ts[1]:
                notes.append(f"cycle {cycles}: a TS at E = {ts.energy:.10g} leads down to the same "
                             "minimum on both sides (not used)")
                continue
            ts.minus, ts.plus = ends_ts
            # the descent ends in the TS's own frame: straight-segment lengths need no alignment
            dpath["side_lengths"] = tuple(
                float(np.linalg.norm(to_numpy(side.x).astype(np.float64).reshape(-1) - x_ts))
                for side in (minus, plus))
            graph.ts.append(ts)
            graph.paths.append(dpath)
            new_ts += 1
        spent = lc.counts - before
        for name, value in (("pair_i", i), ("pair_j", j), ("distance", graph.min_distance(i, j)),
                            ("images", images), ("neb_converged", float(band is not None and band.converged)),
                            ("new_ts", new_ts), ("new_minima", new_min), ("force_calls", spent.gradient)):
            history[name].append(float(value))
        if progress is not None:
            progress(cycles, f"{len(graph.minima)} minima, {len(graph.ts)} TS")

    result = ConnectResult(converged=False, message="", minima=graph.minima, transition_states=graph.ts,
                           cycles=cycles, history=history)
    if not stop:
        result.converged = True
        result.path = _minimax_path(graph)
        result.profile = _profile(graph, result.path, record_profile)
        e_path = [graph.ts[k].energy for kind, k in result.path if kind == "ts"]
        result.highest_barrier = max(e_path) - graph.minima[0][1]
        n_ts = len(e_path)
        text = (f"A and B connected in {cycles} cycles through {n_ts} transition state(s) and "
                f"{n_ts - 1} intermediate minim{'um' if n_ts == 2 else 'a'}; highest barrier from A "
                f"{result.highest_barrier:.8g}")
    else:
        text = f"A and B NOT connected: {stop} ({len(graph.minima)} minima, {len(graph.ts)} TS found)"
    result.message = "; ".join([text, *notes])
    result.counts = lc.counts - start
    return result


def _pick_pair(graph: _Graph, comp: list[int], attempts: dict[tuple[int, int], int],
               max_attempts: int) -> tuple[int, int] | None:
    """Closest pair A-side × B-side with attempts left; else A/B side × any other component."""
    n = len(graph.minima)
    ca, cb = comp[0], comp[1]
    side_a = [i for i in range(n) if comp[i] == ca]
    side_b = [j for j in range(n) if comp[j] == cb]
    rest = [k for k in range(n) if comp[k] not in (ca, cb)]
    for pairs in ([(i, j) for i in side_a for j in side_b],
                  [(i, k) for i in side_a + side_b for k in rest]):
        open_pairs = [p for p in pairs if attempts.get((min(p), max(p)), 0) < max_attempts]
        if open_pairs:
            return min(open_pairs, key=lambda p: (attempts.get((min(p), max(p)), 0), graph.min_distance(*p)))
    return None


def _band_transition_states(lc: Any, band: Any, refine: Any, rms_tol: float,
                            rng: np.random.Generator) -> list[TransitionState]:
    """Verified TS from every interior local maximum of the band (the NEB's own refinement first)."""
    found: list[TransitionState] = []
    if band.transition_state is not None:
        found.append(band.transition_state)
    E = np.asarray(band.energies, dtype=np.float64)
    X = np.asarray(band.images, dtype=np.float64)
    for k in range(1, len(E) - 1):
        if not (E[k] > E[k - 1] and E[k] >= E[k + 1]):
            continue
        if k == band.highest_image and band.transition_state is not None:
            continue
        tangent = X[k + 1] - X[k - 1]
        try:
            res = refine(lc, native_point(lc, X[k]), tangent=native_point(lc, tangent), rms_tol=rms_tol,
                         rng=rng)
        except Exception:  # a failed refinement only loses a candidate; the cycle goes on
            continue
        if res.transition_state is not None:
            found.append(res.transition_state)
    return found


def _minimax_path(graph: _Graph) -> list[tuple[str, int]]:
    """A → B through the TS edges whose highest energy is lowest (Kruskal order, then BFS)."""
    order = sorted(range(len(graph.ts)), key=lambda k: graph.ts[k].energy)
    parent = list(range(len(graph.minima)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    used: list[int] = []
    for k in order:
        t = graph.ts[k]
        parent[find(t.minus)] = find(t.plus)
        used.append(k)
        if find(0) == find(1):
            break
    adj: dict[int, list[tuple[int, int]]] = {}
    for k in used:
        t = graph.ts[k]
        adj.setdefault(t.minus, []).append((k, t.plus))
        adj.setdefault(t.plus, []).append((k, t.minus))
    prev: dict[int, tuple[int, int]] = {0: (-1, -1)}
    queue = deque([0])
    while queue:
        m = queue.popleft()
        for k, other in adj.get(m, []):
            if other not in prev:
                prev[other] = (m, k)
                queue.append(other)
    path: list[tuple[str, int]] = [("min", 1)]
    m = 1
    while m != 0:
        m_prev, k = prev[m]
        path += [("ts", k), ("min", m_prev)]
        m = m_prev
    return path[::-1]


def _profile(graph: _Graph, path: list[tuple[str, int]], recorded: bool) -> dict[str, Any]:
    """Energy against integrated path length along ``path`` (see :class:`ConnectResult`)."""
    s_all: list[np.ndarray] = []
    e_all: list[np.ndarray] = []
    p_all: list[np.ndarray] = []
    st_s: list[float] = []
    st_e: list[float] = []
    st_kind: list[str] = []
    offset = 0.0
    for n in range(1, len(path), 2):
        m_from, (_, k), m_to = path[n - 1][1], path[n], path[n + 1][1]
        t = graph.ts[k]
        e_from, e_to = graph.minima[m_from][1], graph.minima[m_to][1]
        dp = graph.paths[k]
        if recorded and "arc_length" in dp:
            s, e, pts = dp["arc_length"], dp["energy"], dp["points"]
            if t.minus != m_from:
                s, e, pts = -s[::-1], e[::-1], pts[::-1]
            s = s - s[0]
            s_ts = float(s[int(np.argmax(e))])
            p_all.append(pts)
        else:
            if "side_lengths" in dp:
                d1, d2 = dp["side_lengths"] if t.minus == m_from else dp["side_lengths"][::-1]
            else:
                x_ts = to_numpy(t.x).astype(np.float64).reshape(-1)
                d1 = graph.distance(graph.minima[m_from][0], x_ts)
                d2 = graph.distance(x_ts, graph.minima[m_to][0])
            s, e, s_ts = np.array([0.0, d1, d1 + d2]), np.array([e_from, t.energy, e_to]), d1
        if n == 1:
            st_s.append(offset)
            st_e.append(e_from)
            st_kind.append("min")
        s_all.append(s + offset)
        e_all.append(e)
        st_s += [offset + s_ts, offset + float(s[-1])]
        st_e += [float(t.energy), e_to]
        st_kind += ["ts", "min"]
        offset += float(s[-1])
    out: dict[str, Any] = {"s": np.concatenate(s_all), "energy": np.concatenate(e_all),
                           "stationary_s": np.array(st_s), "stationary_energy": np.array(st_e),
                           "stationary_kind": st_kind}
    if len(p_all) == len(s_all) and p_all and not (graph.sym is not None and hasattr(graph.sym, "align")):
        out["points"] = np.concatenate(p_all)  # one frame only without rigid-body symmetry
    return out
