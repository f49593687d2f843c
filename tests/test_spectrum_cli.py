"""``levinthal spectrum``: extremes and trace against known spectra; GGN on a data subset;
the bulk-and-outliers and training figures are written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from levinthal.cli.main import main
from levinthal.cli.spectrum_cmd import count_outliers


def test_spectrum_of_the_double_well_saddle_is_exact(capsys, tmp_path):
    point = tmp_path / "saddle.npy"
    np.save(point, np.array([0.0, 0.0]))
    assert main(["spectrum", "double-well", "--point", str(point), "--k", "1", "--slq-steps", "2",
                 "--probes", "2", "--trace-matvec", "6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["top"] == pytest.approx([1.0], abs=1e-12)
    assert out["bottom"] == pytest.approx([-4.0], abs=1e-12)
    assert out["trace"] == pytest.approx(-3.0, abs=1e-12)  # the sketch spans R²: exact


def test_ggn_spectrum_on_a_subset_is_positive_and_plotted(capsys, tmp_path):
    fig = tmp_path / "ggn.png"
    assert main(["spectrum", "mlp-digits", "--operator", "ggn", "--subset", "40", "--k", "3",
                 "--probes", "2", "--slq-steps", "10", "--trace-matvec", "9", "--tol", "1e-4",
                 "--max-matvec", "60", "--json", "--plot", str(fig)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_samples"] == 40 and out["n_classes"] == 10 and out["operator"] == "ggn"
    assert min(out["top"]) > 0 and min(out["bottom"]) > -1e-10  # a Gauss–Newton matrix is PSD
    assert fig.stat().st_size > 1000


def test_ggn_of_a_cluster_is_refused():
    with pytest.raises(SystemExit, match="network"):
        main(["spectrum", "lj7", "--operator", "ggn"])


def test_count_outliers_finds_the_largest_gap():
    assert count_outliers(np.array([10.0, 9.0, 8.5, 1.0, 0.9, 0.8])) == (3, 8.5)
    assert count_outliers(np.array([1.0, -1.0]))[0] == 0


def test_training_figure_is_written(tmp_path):
    from levinthal.explore import train
    from levinthal.plots.training import plot_training
    from levinthal.systems import make_system

    land = make_system("mlp-digits", n_train=40, hidden=(4,))
    rec = train(land, land.initial_point(), lr=0.5, steps=6, track_every=3, trace_matvec=6)
    path = tmp_path / "train.png"
    plot_training(rec, str(path))
    assert path.stat().st_size > 1000
