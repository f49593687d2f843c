"""The case-study framework: measurements with intervals, results, the registry and the CLI."""

import math

import numpy as np
import pytest
from scipy import stats

from levinthal.cli.main import main
from levinthal.studies import get_study, study_names
from levinthal.studies.base import Measurement, StudyResult, bootstrap_interval, mean_interval


def test_mean_interval_is_the_student_t_interval():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    m = mean_interval(x)
    se = x.std(ddof=1) / 2
    h = stats.t.ppf(0.975, 3) * se
    assert m.value == 3.5 and m.low == pytest.approx(3.5 - h) and m.high == pytest.approx(3.5 + h)
    assert math.isnan(mean_interval([]).value) and mean_interval([2.0]).low is None


def test_bootstrap_interval_covers_the_mean_of_a_normal_sample():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 1.0, 400)
    b = bootstrap_interval(x, rng=1)
    # the bootstrap standard error of a mean is close to s/sqrt(n)
    assert b.stderr == pytest.approx(x.std(ddof=1) / 20, rel=0.1)
    assert b.low < 5.0 < b.high


def test_result_verdicts_and_json():
    r = StudyResult("demo", "Demo", {"a": 1}, numbers={"k": Measurement(2.0, 1.5, 2.5, unit="s")})
    r.add_verdict("holds", "k is about 2")
    with pytest.raises(ValueError):
        r.add_verdict("maybe", "no")
    d = r.as_dict()
    assert d["numbers"]["k"]["low"] == 1.5 and d["verdicts"] == [["holds", "k is about 2"]]
    assert r.numbers["k"].text() == "2 [1.5, 2.5] s"


def test_every_study_module_has_the_interface():
    for name in study_names():
        module = get_study(name)
        assert module.NAME == name
        small, full = module.Config.small(), module.Config.full()
        assert type(small) is type(full)
    with pytest.raises(KeyError, match="no study"):
        get_study("no-such-study")


def test_study_cli_lists_and_refuses_unknown(capsys):
    assert main(["study", "--list"]) == 0
    with pytest.raises(SystemExit, match="no study"):
        main(["study", "no-such-study", "--small"])
