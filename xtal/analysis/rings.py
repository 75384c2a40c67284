"""Six-membered X–Y rings of trigonal-planar XY3 layers (B–S rings of sodium thioborates).

Model (physics.md §8; Na3BS3 paper, Mater. Adv. 2021, 2, 1676)
----------------------------------------------------------------
In each X–Y layer the ligands Y and the X *sites* (occupied or vacant) form a
honeycomb: the Y atoms make a triangular net, X sites sit in every other triangle
("site" triangles), and the remaining triangles are the ring centres.  A ring is
3 Y + 3 X sites around one ring centre.  A partially occupied X site counts as a
site; a site triangle holding no X atom (an ordered model in which X fills one
site in three) gets a vacant site at the centroid of its Y triangle.

Distortion measures
-------------------
* Edge-length distortion index Δ = (1/n) Σ |l_i − l̄| / l̄ (Baur, Acta Cryst. B30,
  1195, 1974).
* Angle variance σ² = Σ (φ_i − 120°)² / (n − 1) (Robinson, Gibbs & Ribbe,
  Science 172, 567, 1971, with the hexagon's ideal angle 120°).
* Continuous shape measure S = 100 · min Σ|q_i − p_i|² / Σ|q_i − q0|² over regular
  hexagons p of any size, orientation and position, vertices in ring order
  (Pinsky & Avnir, Inorg. Chem. 37, 5575, 1998).  Because the hexagon is planar the
  best rotation is the Kabsch/Procrustes solution, exact in closed form.

Geometry is Cartesian from :attr:`Cell.matrix` rows; periodic images are found
from explicit lattice translations.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from xtal.analysis._periodic import check_overlaps, pair_distances, translations
from xtal.crystal.phase import Phase
from xtal.errors import InputError

#: Largest X–Y distance (Å) counted as a bond of an XY3 unit.
MAX_BOND = 3.0
#: Atoms within this distance (Å) of a layer's mean plane belong to it.
LAYER_TOLERANCE = 0.5
# Radius (Å) of the patch of a layer built from periodic images; rings are taken near its middle.
_PATCH = 14.0


@dataclass(frozen=True)
class BS3Unit:
    """One XY3 unit: an X atom and its three nearest Y.

    Attributes
    ----------
    label
        Site label of X; ``ligands`` the labels of the three Y.
    frac
        Fractional coordinates of X in the cell.
    occupancy
        Occupancy of the X site.
    bond_lengths
        X–Y distances (Å); ``angles`` the Y–X–Y angles (degrees).
    out_of_plane
        Distance (Å) of X from the plane of its three Y.
    """

    label: str
    frac: tuple[float, float, float]
    occupancy: float
    ligands: tuple[str, str, str]
    bond_lengths: tuple[float, float, float]
    angles: tuple[float, float, float]
    out_of_plane: float


@dataclass(frozen=True)
class Ring:
    """One six-membered ring, vertices in ring order (Y, X site, Y, X site, ...).

    ``labels`` name each vertex by site label, or ``'vacant'`` for an empty X site;
    ``cart`` are the vertex positions (Å) of one periodic image; ``centre`` is the
    fractional position of the ring centre reduced to [0, 1).
    """

    layer: int
    centre: tuple[float, float, float]
    labels: tuple[str, ...]
    occupancies: tuple[float, ...]
    cart: tuple[tuple[float, float, float], ...]
    edges: tuple[float, ...]
    angles: tuple[float, ...]
    distortion_index: float
    angle_variance: float
    shape_measure: float


@dataclass(frozen=True)
class Layer:
    """An X–Y layer: its height along the stacking direction and what it holds per cell."""

    index: int
    height: float
    n_ligands: int
    n_centres: int
    n_rings: int


@dataclass(frozen=True)
class RingReport:
    """Ring and XY3-unit geometry of a phase (JSON-able via :meth:`to_dict`).

    ``stacking_hkl`` is the Miller index of the layer planes and ``stacking_normal``
    their unit normal (Cartesian); ``mean_*`` and ``max_*`` summarise all rings.
    """

    phase: str
    center: str
    ligand: str
    stacking_hkl: tuple[int, int, int]
    stacking_normal: tuple[float, float, float]
    layers: tuple[Layer, ...]
    rings: tuple[Ring, ...]
    units: tuple[BS3Unit, ...]
    mean_edge: float
    mean_distortion_index: float
    mean_angle_variance: float
    mean_shape_measure: float
    max_distortion_index: float
    max_angle_variance: float
    max_shape_measure: float

    def to_dict(self) -> dict:
        """Plain dict of JSON types."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text."""
        return json.dumps(self.to_dict(), indent=indent)


# -- distortion measures -------------------------------------------------------------------
def distortion_index(lengths: np.ndarray) -> float:
    """Baur's distortion index Δ = (1/n) Σ |l_i − l̄| / l̄."""
    length = np.asarray(lengths, float)
    mean = length.mean()
    return float(np.mean(np.abs(length - mean)) / mean)


def angle_variance(angles: np.ndarray, ideal: float = 120.0) -> float:
    """Angle variance Σ (φ_i − ideal)² / (n − 1) in degrees²."""
    phi = np.asarray(angles, float)
    return float(np.sum((phi - ideal) ** 2) / (len(phi) - 1))


def polygon_geometry(cart: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge lengths l_i = |p_{i+1} − p_i| and internal angles φ_i at p_i (degrees)."""
    p = np.asarray(cart, float)
    nxt, prv = np.roll(p, -1, axis=0) - p, np.roll(p, 1, axis=0) - p
    edges = np.linalg.norm(nxt, axis=1)
    cosang = np.einsum("ij,ij->i", nxt, prv) / (edges * np.linalg.norm(prv, axis=1))
    return edges, np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))


def shape_measure(cart: np.ndarray) -> float:
    """Continuous shape measure of a ring against the regular polygon of its size n.

    S = 100 · min_{s, R, t} Σ|q_i − (s R h_i + t)|² / Σ|q_i − q0|², h_i the unit
    regular n-gon in order (Pinsky & Avnir 1998).  With both sets centred the best
    scale is s = tr(RM)/Σ|h|² and the best rotation maximises tr(RM), M = hᵀq; for a
    planar reference tr(RM)max = σ1 + σ2 (σ3 = 0), the sum of singular values of M.
    """
    q = np.asarray(cart, float)
    q = q - q.mean(axis=0)
    n = len(q)
    ang = 2 * np.pi * np.arange(n) / n
    h = np.column_stack([np.cos(ang), np.sin(ang), np.zeros(n)])
    sigma = np.linalg.svd(h.T @ q, compute_uv=False)
    norm = float(np.sum(q * q))
    best = (sigma[0] + sigma[1]) ** 2 / float(np.sum(h * h))
    return float(100.0 * max(norm - best, 0.0) / norm)


# -- the analysis --------------------------------------------------------------------------
def rings(
    phase: Phase,
    center: str = "B",
    ligand: str = "S",
    max_bond: float = MAX_BOND,
    layer_tolerance: float = LAYER_TOLERANCE,
) -> RingReport:
    """Find the X–Y layers of ``phase``, their six-membered rings and XY3 units.

    Parameters
    ----------
    phase
        Structure with trigonal-planar ``center``–``ligand``3 units in layers.
    center, ligand
        Element symbols of X (ring site, e.g. ``'B'``) and Y (e.g. ``'S'``).
    max_bond
        Largest X–Y distance (Å) taken as a bond.
    layer_tolerance
        Largest distance (Å) of a layer atom from the layer's mean plane.

    Returns
    -------
    RingReport

    Raises
    ------
    InputError
        No X or Y atoms, overlapping atoms, X without three Y neighbours, units that
        are not parallel, or no layer holding both X and Y.
    """
    check_overlaps(phase)
    at = phase.atoms
    matrix = phase.cell.matrix
    ci = np.array([k for k, e in enumerate(at.elements) if e == center], dtype=int)
    li = np.array([k for k, e in enumerate(at.elements) if e == ligand], dtype=int)
    for idx, el in ((ci, center), (li, ligand)):
        if len(idx) == 0:
            raise InputError(f"phase {phase.name} has no {el} atoms")
    label = [phase.sites[s].label for s in at.site_index]

    units, normals = _units(phase, ci, li, label, max_bond)
    normal = _mean_normal(normals, phase.name, center, ligand)
    hkl, g = _miller_index(matrix, normal)
    spacing = 1.0 / np.linalg.norm(g)
    tol = layer_tolerance / spacing
    heights = at.frac @ np.asarray(hkl, float)
    clusters = _cluster_circular(heights[np.concatenate([ci, li])] % 1.0, tol)
    layers_out, rings_out = [], []
    e1, e2 = _plane_basis(normal)
    for ref in clusters:
        in_layer = np.abs(_circ(heights - ref)) < tol
        lc, ll = ci[in_layer[ci]], li[in_layer[li]]
        if len(lc) == 0 or len(ll) == 0:
            continue
        k = len(layers_out)
        found = _layer_rings(phase, k, lc, ll, label, hkl, ref, tol, e1, e2)
        layers_out.append(Layer(k, float(ref), len(ll), len(lc), len(found)))
        rings_out.extend(found)
    if not layers_out:
        raise InputError(
            f"phase {phase.name}: no layer perpendicular to ({' '.join(map(str, hkl))}) holds "
            f"both {center} and {ligand}: no {center}–{ligand} layers"
        )
    if not rings_out:
        raise InputError(f"phase {phase.name}: no {center}–{ligand} six-membered rings found")

    def stats(attr: str) -> tuple[float, float]:
        v = np.array([getattr(r, attr) for r in rings_out])
        return float(v.mean()), float(v.max())

    d_mean, d_max = stats("distortion_index")
    a_mean, a_max = stats("angle_variance")
    s_mean, s_max = stats("shape_measure")
    return RingReport(
        phase=phase.name,
        center=center,
        ligand=ligand,
        stacking_hkl=hkl,
        stacking_normal=tuple(float(v) for v in normal),
        layers=tuple(layers_out),
        rings=tuple(rings_out),
        units=tuple(units),
        mean_edge=float(np.mean([np.mean(r.edges) for r in rings_out])),
        mean_distortion_index=d_mean,
        mean_angle_variance=a_mean,
        mean_shape_measure=s_mean,
        max_distortion_index=d_max,
        max_angle_variance=a_max,
        max_shape_measure=s_max,
    )


def _units(
    phase: Phase, ci: np.ndarray, li: np.ndarray, label: list[str], max_bond: float
) -> tuple[list[BS3Unit], list[np.ndarray]]:
    at, matrix = phase.atoms, phase.cell.matrix
    i, j, shift, dist = pair_distances(matrix, at.frac[ci], at.frac[li], max_bond)
    units, normals = [], []
    for a, c in enumerate(ci):
        sel = np.nonzero(i == a)[0]
        sel = sel[np.argsort(dist[sel])]
        name = f"{label[c]} at {np.round(at.frac[c], 4).tolist()}"
        if len(sel) < 3:
            raise InputError(
                f"phase {phase.name}: {name} has {len(sel)} {at.elements[li[0]]} neighbours "
                f"within {max_bond} Å, not three (no trigonal-planar unit)"
            )
        if len(sel) > 3 and dist[sel[3]] < 1.1 * dist[sel[2]]:
            raise InputError(
                f"phase {phase.name}: {name} has more than three nearly equidistant "
                f"{at.elements[li[0]]} neighbours (not a trigonal-planar unit)"
            )
        sel = sel[:3]
        x = at.frac[c] @ matrix
        y = (at.frac[li[j[sel]]] + shift[sel]) @ matrix
        v = y - x
        angles = []
        for p, q in ((0, 1), (1, 2), (0, 2)):
            cosang = v[p] @ v[q] / (np.linalg.norm(v[p]) * np.linalg.norm(v[q]))
            angles.append(float(np.degrees(np.arccos(np.clip(cosang, -1, 1)))))
        nrm = np.cross(y[1] - y[0], y[2] - y[0])
        nrm /= np.linalg.norm(nrm)
        normals.append(nrm)
        units.append(
            BS3Unit(
                label=label[c],
                frac=tuple(float(t) for t in at.frac[c]),
                occupancy=float(at.occupancy[c]),
                ligands=tuple(label[li[m]] for m in j[sel]),
                bond_lengths=tuple(float(d) for d in dist[sel]),
                angles=tuple(angles),
                out_of_plane=float(abs((x - y[0]) @ nrm)),
            )
        )
    return units, normals


def _mean_normal(normals: list[np.ndarray], name: str, center: str, ligand: str) -> np.ndarray:
    ref = normals[0]
    aligned = np.array([n if n @ ref >= 0 else -n for n in normals])
    mean = aligned.sum(axis=0)
    mean /= np.linalg.norm(mean)
    worst = np.degrees(np.arccos(np.clip(np.min(aligned @ mean), -1, 1)))
    if worst > 15.0:
        raise InputError(
            f"phase {name}: {center}{ligand}3 units are not parallel (up to {worst:.0f}° apart): "
            f"no {center}–{ligand} layers"
        )
    return mean


def _miller_index(
    matrix: np.ndarray, normal: np.ndarray
) -> tuple[tuple[int, int, int], np.ndarray]:
    """Smallest integer hkl whose reciprocal vector g = h·(b1, b2, b3) is parallel to ``normal``."""
    recip = np.linalg.inv(matrix).T
    r = np.arange(-6, 7)
    h = np.array(np.meshgrid(r, r, r, indexing="ij")).reshape(3, -1).T
    h = h[np.any(h != 0, axis=1)]
    g = h @ recip
    cosang = g @ normal / np.linalg.norm(g, axis=1)
    ok = np.nonzero(cosang > np.cos(np.radians(3.0)))[0]
    if len(ok) == 0:
        raise InputError("the XY3 units are not parallel to any lattice plane: no layers")
    best = ok[np.argmin(np.linalg.norm(g[ok], axis=1))]
    return tuple(int(v) for v in h[best]), g[best]


def _circ(d: np.ndarray) -> np.ndarray:
    return d - np.round(d)


def _cluster_circular(values: np.ndarray, tol: float) -> list[float]:
    """Centres (in [0, 1)) of groups of values on the unit circle closer than ``tol``."""
    groups: list[list[float]] = []
    for v in np.sort(values):
        for g in groups:
            if abs(_circ(v - g[0])) < tol:
                g.append(g[0] + _circ(v - g[0]))
                break
        else:
            groups.append([float(v)])
    return sorted(float(np.mean(g) % 1.0) for g in groups)


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    trial = np.eye(3)[int(np.argmin(np.abs(normal)))]
    e1 = np.cross(normal, trial)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(normal, e1)


def _layer_rings(
    phase: Phase,
    layer: int,
    lc: np.ndarray,
    ll: np.ndarray,
    label: list[str],
    hkl: tuple[int, int, int],
    ref: float,
    tol: float,
    e1: np.ndarray,
    e2: np.ndarray,
) -> list[Ring]:
    at, matrix = phase.atoms, phase.cell.matrix
    h = np.asarray(hkl, float)
    shifts = translations(matrix, _PATCH)
    # centre the patch on a ligand image *in this layer* (the mean of the ligands' cell
    # coordinates can lie a whole layer period away when hkl has a negative index)
    imgs = (at.frac[ll][:, None, :] + shifts[None, :, :]).reshape(-1, 3)
    imgs = imgs[np.abs(imgs @ h - ref) < tol] @ matrix
    origin = imgs[np.argmin(np.linalg.norm(imgs - np.full(3, 0.5) @ matrix, axis=1))]

    def patch(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # every image of the layer atoms at height ``ref`` within _PATCH of the origin
        frac = at.frac[idx][:, None, :] + shifts[None, :, :]
        keep = np.abs(frac @ h - ref) < tol
        cart = frac @ matrix
        keep &= np.linalg.norm(cart - origin, axis=-1) < _PATCH
        a, _ = np.nonzero(keep)
        return cart[keep], idx[a]

    lig_cart, lig_atom = patch(ll)
    cen_cart, cen_atom = patch(lc)
    if len(lig_cart) < 3:
        return []
    to2d = np.column_stack([e1, e2])
    from scipy.spatial import Delaunay  # heavy: only phases with X–Y layers get here

    tri = Delaunay((lig_cart - origin) @ to2d)
    n_tri = len(tri.simplices)
    occupant = np.full(n_tri, -1)
    where = tri.find_simplex((cen_cart - origin) @ to2d)
    for k, t in enumerate(where):
        if t >= 0:
            occupant[t] = k
    centroid = lig_cart[tri.simplices].mean(axis=1)
    core = np.linalg.norm(centroid - origin, axis=1) < 0.7 * _PATCH
    colour = _two_colour(tri.neighbors, occupant, core, phase.name)

    inv = np.linalg.inv(matrix)
    best: dict[tuple, tuple[float, Ring]] = {}
    for t in np.nonzero((colour == 0) & core)[0]:
        nbrs = tri.neighbors[t]
        if np.any(nbrs < 0) or np.any(colour[nbrs] != 1):
            continue
        pts, labs, occs = [], [], []
        for v in tri.simplices[t]:
            pts.append(lig_cart[v])
            labs.append(label[lig_atom[v]])
            occs.append(float(at.occupancy[lig_atom[v]]))
        for nb in nbrs:
            k = occupant[nb]
            if k >= 0:
                pts.append(cen_cart[k])
                labs.append(label[cen_atom[k]])
                occs.append(float(at.occupancy[cen_atom[k]]))
            else:  # ordered model: the empty site sits at the centroid of its Y triangle
                pts.append(centroid[nb])
                labs.append("vacant")
                occs.append(0.0)
        pts_a = np.array(pts)
        mid = pts_a[:3].mean(axis=0)
        polar = (pts_a - mid) @ to2d
        order = np.argsort(np.arctan2(polar[:, 1], polar[:, 0]))
        order = np.roll(order, -int(np.argmax(order < 3)))  # start on a ligand
        ring_cart = pts_a[order]
        edges, angles = polygon_geometry(ring_cart)
        centre = (mid @ inv) % 1.0
        key = tuple(np.round(centre, 4) % 1.0)
        dist = float(np.linalg.norm(mid - origin))
        if key in best and best[key][0] <= dist:
            continue
        ring = Ring(
            layer=layer,
            centre=tuple(float(c) for c in centre),
            labels=tuple(labs[o] for o in order),
            occupancies=tuple(occs[o] for o in order),
            cart=tuple(tuple(float(c) for c in p) for p in ring_cart),
            edges=tuple(float(e) for e in edges),
            angles=tuple(float(a) for a in angles),
            distortion_index=distortion_index(edges),
            angle_variance=angle_variance(angles),
            shape_measure=shape_measure(ring_cart),
        )
        best[key] = (dist, ring)
    return [r for _, r in sorted(best.values(), key=lambda x: x[1].centre)]


def _two_colour(
    neighbors: np.ndarray, occupant: np.ndarray, core: np.ndarray, name: str
) -> np.ndarray:
    """Colour triangles 1 (X site) or 0 (ring centre), alternating across shared edges.

    Seeds are the triangles holding an X atom; a clash means the X atoms do not sit
    on one sublattice of a honeycomb.
    """
    colour = np.full(len(neighbors), -1)
    queue = deque()
    for t in np.nonzero((occupant >= 0) & core)[0]:
        colour[t] = 1
        queue.append(t)
    while queue:
        t = queue.popleft()
        for nb in neighbors[t]:
            if nb < 0 or not core[nb]:
                continue
            want = 1 - colour[t]
            if colour[nb] == -1:
                colour[nb] = want
                queue.append(nb)
            elif colour[nb] != want:
                raise InputError(
                    f"phase {name}: the X atoms do not sit on one sublattice of a honeycomb "
                    f"with the ligands (two neighbouring triangles are both X sites)"
                )
    return colour
