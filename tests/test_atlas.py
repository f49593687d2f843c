"""The atlas end to end on a small configuration: both sides measured, report written."""

import json

import pytest

from levinthal.report.atlas import LJ13_GLOBAL_MINIMUM, AtlasConfig, run_atlas


@pytest.mark.slow
def test_atlas_writes_a_side_by_side_report_with_measured_findings(tmp_path):
    cfg = AtlasConfig(cluster="lj13", cluster_starts=8, network_starts=2,
                      network_max_iterations=400, network_rms_tol=1e-5, bezier_steps=100,
                      connect_cycles=5, grow_connections=2, studies=(), quiet=True)
    index = run_atlas(cfg, tmp_path)
    html = index.read_text()
    assert "Where the analogy holds and where it breaks" in html
    assert html.count("<img") >= 4
    data = json.loads((tmp_path / "atlas.json").read_text())
    cluster, network = data["cluster"], data["network"]
    # LJ13 from 8 random starts: the icosahedron is found (Cambridge Cluster Database value)
    assert cluster["distinct"][0]["energy"] == pytest.approx(LJ13_GLOBAL_MINIMUM, abs=1e-5)
    assert cluster["distinct"][0]["n_zero_modes"] == 6
    assert cluster["distinct"][0]["kind"] == "minimum"
    assert len(cluster["lowest_spectrum"]) == cluster["dim"] - 6
    assert network["dim"] > 2000
    assert network["distinct"][0]["test_energy"] is not None
    barriers = cluster["barriers"]
    assert {"straight_line", "bezier", "connected"} <= set(barriers)
    if barriers["connected"]:
        # each TS lies above both of its minima, so the highest TS on a path from A to B lies
        # above the higher endpoint: the measured barrier is strictly positive
        assert barriers["connect"] > 0
    assert "bezier" in network["barriers"]
    kin = cluster["kinetics"]  # the kinetic network stored in SQLite next to the report
    assert (tmp_path / "atlas.db").exists() and kin["minima"] == len(cluster["distinct"])
    if kin["transition_states"]:
        assert kin["joined_to_global_minimum"] >= 2 and "dgraph" + "_figure" in kin
        assert kin["rates"]["p_a"] * kin["rates"]["k_ab"] > 0
    assert data["studies"] == []  # the studies' own tests run them; the atlas only adds sections
    kinds = {kind for kind, _ in data["findings"]}
    assert kinds <= {"holds", "breaks", "note"} and data["findings"]
