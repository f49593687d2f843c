"""The ``levinthal`` command, run in-process through its entry point."""

import json

import numpy as np
import pytest

from levinthal.cli.main import main

MB_MINIMA = np.array([[-0.558224, 1.441726], [0.623499, 0.028038], [-0.050011, 0.466694]])
MB_ENERGIES = np.array([-146.699517, -108.166724, -80.767818])  # Müller & Brown (1979)


def test_systems_lists_the_builtin_names(capsys):
    assert main(["systems", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert {"muller-brown", "lj13", "morse13:6", "mlp-digits"} <= names


def test_minimize_finds_muller_brown_minima(capsys, tmp_path):
    out = tmp_path / "m.npz"
    code = main(["minimize", "muller-brown", "--starts", "6", "--json", "--quiet",
                 "--save", str(out), "--seed", "3"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    for row in rows:
        assert row["converged"]
        assert np.min(np.abs(MB_ENERGIES - row["energy"])) < 1e-4
    saved = np.load(out)["minima"]
    for x in saved:
        assert np.min(np.linalg.norm(MB_MINIMA - x, axis=1)) < 1e-4


def test_hessian_classifies_the_double_well_saddle(capsys, tmp_path):
    point = tmp_path / "saddle.npy"
    np.save(point, np.array([0.0, 0.0]))
    assert main(["hessian", "double-well", "--point", str(point), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "saddle"
    assert summary["index"] == 1
    np.testing.assert_allclose(sorted(summary["eigenvalues"]), [-4.0, 1.0], atol=1e-12)


def test_unknown_system_is_a_clear_error(capsys):
    assert main(["minimize", "no-such-system"]) == 1
    assert "unknown system 'no-such-system'" in capsys.readouterr().err


def test_corrupt_point_file_is_named(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not a numpy file")
    with pytest.raises(SystemExit, match="cannot read point file"):
        main(["hessian", "double-well", "--point", str(bad)])
