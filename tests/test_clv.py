"""Tests for retention.clv: BG/NBD + Gamma-Gamma.

Checked three ways:
1. parameter recovery on data simulated (below) from known parameters;
2. published CDNOW values (Fader, Hardie & Lee 2005; Fader & Hardie 2013), on the CDNOW
   summary in tests/data (see tests/data/README.md for its provenance), plus closed forms
   checked against independent numerical integration;
3. a calibration/holdout check on simulated data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from retention import clv

DATA = Path(__file__).parent / "data"
START = pd.Timestamp("2023-01-01")


# ----------------------------------------------------------------------------------------------
# The sampler: BG/NBD purchase process + Gamma-Gamma spend, in continuous time (days)
# ----------------------------------------------------------------------------------------------


def simulate_customers(
    n,
    *,
    r,
    alpha,
    a,
    b,
    p=6.0,
    q=4.0,
    gamma=15.0,
    acquisition_days=364,
    end_day=728,
    seed=0,
):
    """Simulate ``n`` customers and their transaction log.

    Rates are per WEEK (the unit of r/alpha), times are kept in days.
    * Customer i is acquired (first purchase) at a uniformly random moment of day
      ``acq_i`` in [0, acquisition_days); observation ends at the end of day ``end_day`` - so
      the observation windows vary in length.
    * While alive they buy as a Poisson process with rate lambda_i ~ Gamma(shape r, rate
      alpha) per week; after each REPEAT purchase they drop out for good with probability
      p_i ~ Beta(a, b) (no dropout at the first purchase, as in BG/NBD).
    * Each purchase's amount is Gamma(shape p, rate nu_i), nu_i ~ Gamma(shape q, rate gamma).

    Returns a dict with
      ``log``: DataFrame customer_id, ts (timestamp), amount, ordered by customer and time;
      ``exact``: per customer the model's continuous-time x, t_x, T (weeks) and mean repeat
          spend zbar (the quantities the likelihoods are written in);
      ``daily``: per customer the calendar-day summary that summarize_transactions(as_of =
          day end_day, "W") must reproduce (purchase days, same-day amounts summed).
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)  # per week
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / gamma, n)
    acq_day = rng.integers(0, acquisition_days, n)
    t = acq_day + rng.random(n)  # time of first purchase, days
    end = end_day + 1.0  # end of the last observed day
    first_t = t.copy()

    cust_parts = [np.arange(n)]
    time_parts = [t.copy()]
    x = np.zeros(n, dtype=np.int64)
    last_t = t.copy()
    active = np.arange(n)
    while active.size:
        # next purchase after an exponential wait (rate lambda per week = lambda / 7 per day)
        t[active] += rng.exponential(7.0 / lam[active])
        active = active[t[active] < end]
        cust_parts.append(active)
        time_parts.append(t[active].copy())
        x[active] += 1
        last_t[active] = t[active]
        # dropout after this repeat purchase
        active = active[rng.random(active.size) >= drop[active]]

    cust = np.concatenate(cust_parts)
    times = np.concatenate(time_parts)
    amount = rng.gamma(p, 1.0 / nu[cust])
    order = np.lexsort((times, cust))
    cust, times, amount = cust[order], times[order], amount[order]

    # exact continuous-time summary (weeks); mean spend of the repeat purchases
    total = np.bincount(cust, weights=amount, minlength=n)
    first_amount = amount[np.r_[0, np.flatnonzero(np.diff(cust)) + 1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = np.where(x > 0, (total - first_amount) / np.maximum(x, 1), 0.0)
    exact = pd.DataFrame(
        {"x": x, "t_x": (last_t - first_t) / 7, "T": (end - first_t) / 7, "zbar": zbar}
    )

    # calendar-day summary: one purchase per (customer, day), amounts summed
    day = np.floor(times).astype(np.int64)
    new = np.r_[True, (cust[1:] != cust[:-1]) | (day[1:] != day[:-1])]
    starts = np.flatnonzero(new)
    d_cust, d_day = cust[starts], day[starts]
    d_amount = np.add.reduceat(amount, starts)
    n_days = np.bincount(d_cust, minlength=n)
    first_idx = np.r_[0, np.cumsum(n_days)[:-1]]
    last_idx = np.cumsum(n_days) - 1
    freq = n_days - 1
    day_total = np.bincount(d_cust, weights=d_amount, minlength=n)
    daily = pd.DataFrame(
        {
            "frequency": freq,
            "recency": (d_day[last_idx] - d_day[first_idx]) / 7.0,
            "T": (end_day - d_day[first_idx]) / 7.0,
            "monetary_value": np.where(
                freq > 0, (day_total - d_amount[first_idx]) / np.maximum(freq, 1), 0.0
            ),
        }
    )
    # timestamps to whole seconds, never across midnight
    seconds = day * 86400 + np.minimum(np.floor((times - day) * 86400.0), 86399).astype(
        np.int64
    )
    log = pd.DataFrame(
        {
            "customer_id": cust,
            "ts": START + pd.to_timedelta(seconds, unit="s"),
            "amount": np.round(amount, 6),
        }
    )
    return {"log": log, "exact": exact, "daily": daily, "end_day": end_day}


TRUE_BG = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def sim():
    return simulate_customers(40_000, **TRUE_BG, **TRUE_GG, seed=20240601)


# ----------------------------------------------------------------------------------------------
# 1. summaries and parameter recovery
# ----------------------------------------------------------------------------------------------


def test_summarize_reproduces_sampler(sim):
    as_of = START + pd.Timedelta(days=sim["end_day"])
    s = clv.summarize_transactions(
        sim["log"], "customer_id", "ts", "amount", as_of, time_unit="W"
    )
    want = sim["daily"]
    assert list(s.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert s.index.name == "customer_id"
    assert np.array_equal(s.index.to_numpy(), np.arange(len(want)))
    assert np.array_equal(s["frequency"].to_numpy(), want["frequency"].to_numpy())
    np.testing.assert_allclose(s["recency"], want["recency"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(s["T"], want["T"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        s["monetary_value"], want["monetary_value"], rtol=1e-9, atol=1e-6
    )
    # days: the same, times 7
    sd = clv.summarize_transactions(
        sim["log"], "customer_id", "ts", "amount", as_of, time_unit="D"
    )
    np.testing.assert_allclose(sd["T"], want["T"] * 7, atol=1e-9)
    # and the day summary is the continuous one up to same-day merges / day rounding
    ex = sim["exact"]
    assert (s["frequency"] <= ex["x"]).all()
    assert (s["frequency"] == ex["x"]).mean() > 0.95
    assert np.abs(s["T"] - ex["T"]).max() <= 1 / 7 + 1e-9


def _rel(fit_params, truth):
    return {k: abs(fit_params[k] - v) / v for k, v in truth.items()}


def test_bg_nbd_recovers_parameters(sim):
    ex = sim["exact"]
    fit = clv.fit_bg_nbd(ex["x"], ex["t_x"], ex["T"])
    err = _rel(fit.params, TRUE_BG)
    assert max(err.values()) < 0.10, (fit.params, err)
    # each estimate within ~3.5 standard errors of the truth
    for k, v in TRUE_BG.items():
        assert abs(fit.params[k] - v) < 3.5 * fit.standard_errors[k], (
            k,
            fit.params,
            fit.standard_errors,
        )
    assert fit.n_customers == len(ex)
    # the calendar-day summary (what the pipeline fits) recovers them too
    d = sim["daily"]
    fit_d = clv.fit_bg_nbd(d["frequency"], d["recency"], d["T"])
    assert max(_rel(fit_d.params, TRUE_BG).values()) < 0.12, fit_d.params
    assert fit_d.n_groups < len(d)  # day-resolution data group


def test_gamma_gamma_recovers_parameters(sim):
    ex = sim["exact"]
    fit = clv.fit_gamma_gamma(ex["x"], ex["zbar"])
    assert fit.n_customers == int((ex["x"] > 0).sum())
    err = _rel(fit.params, TRUE_GG)
    assert max(err.values()) < 0.15, (fit.params, err)
    # the population mean spend p*gamma/(q-1) is much better determined than p, q, gamma
    true_mean = TRUE_GG["p"] * TRUE_GG["gamma"] / (TRUE_GG["q"] - 1)
    assert abs(fit.mean_spend - true_mean) / true_mean < 0.03


# ----------------------------------------------------------------------------------------------
# 2. published CDNOW values and closed forms vs numerical integration
# ----------------------------------------------------------------------------------------------

FHL = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, CDNOW, weeks
FH_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader & Hardie 2013 note, CDNOW


@pytest.fixture(scope="module")
def cdnow():
    d = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    assert len(d) == 2357
    return d


def test_cdnow_bg_nbd_reproduces_published_fit(cdnow):
    fit = clv.fit_bg_nbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert round(fit.r, 3) == FHL["r"]
    assert round(fit.alpha, 3) == FHL["alpha"]
    assert round(fit.a, 3) == FHL["a"]
    assert round(fit.b, 3) == FHL["b"]
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.n_customers == 2357
    # the LL at the published (rounded) parameters agrees to the published precision
    ll = clv.bg_nbd_log_likelihood(FHL, cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert round(ll, 1) == -9582.4


def test_cdnow_gamma_gamma_reproduces_published_fit(cdnow):
    fit = clv.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fit.n_customers == 946  # customers with a repeat purchase
    assert round(fit.p, 2) == FH_GG["p"]
    assert round(fit.q, 2) == FH_GG["q"]
    # the published gamma is 15.44; the MLE is 15.448 (lifetimes also reports 15.45): the
    # likelihood is flat along this ridge, its values at the two points differ by < 0.01
    assert abs(fit.gamma - FH_GG["gamma"]) < 0.01
    ll_pub = clv.gamma_gamma_log_likelihood(FH_GG, cdnow["x"], cdnow["zbar"])
    assert 0 <= fit.log_likelihood - ll_pub < 0.01


def test_cdnow_worked_conditional_expectation():
    m = clv.BetaGeoFit.from_params(**FHL)
    # FHL 2005: customer with x=2, t_x=30.43, T=38.86, next 39 weeks -> 1.226
    assert round(m.expected_purchases(39, 2, 30.43, 38.86), 3) == 1.226


def test_cdnow_gamma_gamma_expected_spend_values(cdnow):
    g = clv.GammaGammaFit.from_params(**FH_GG)
    # population mean spend p*gamma/(q-1) at the published parameters
    assert g.mean_spend == pytest.approx(6.25 * 15.44 / 2.74)
    assert round(g.mean_spend, 2) == 35.22
    # conditional expectation = weighted mean of population mean and the customer's mean
    x, m = 2.0, 22.35  # CDNOW customer 1
    w = FH_GG["p"] * x / (FH_GG["p"] * x + FH_GG["q"] - 1)
    assert g.expected_spend(x, m) == pytest.approx(w * m + (1 - w) * g.mean_spend)
    # independent check: posterior of nu is Gamma(px+q, rate gamma + x m); E[p / nu]
    shape, rate = FH_GG["p"] * x + FH_GG["q"], FH_GG["gamma"] + x * m
    num = integrate.quad(
        lambda v: FH_GG["p"] / v * stats.gamma.pdf(v, shape, scale=1 / rate), 0, np.inf
    )[0]
    assert g.expected_spend(x, m) == pytest.approx(num, rel=1e-7)
    # frequency 0 -> population mean
    assert g.expected_spend(0, 0) == pytest.approx(g.mean_spend)
    # series in -> series out, aligned
    e = g.expected_spend(cdnow["x"], cdnow["zbar"])
    assert isinstance(e, pd.Series) and e.index.equals(cdnow.index)
    assert round(float(e.iloc[0]), 2) == round(g.expected_spend(2, 22.35), 2)


# numerical-integration versions of the closed forms (independent of hyp2f1)


def _G(s, x, r, alpha):
    """int lambda^x e^{-lambda s} Gamma(r, alpha)(lambda) d lambda."""
    return np.exp(
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        - (r + x) * np.log(alpha + s)
    )


def _beta_int(f, a, b):
    """int f(p) Beta(a, b)(p) dp (algebraic-weight quadrature handles the endpoint powers)."""
    val = integrate.quad(
        f, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200, epsabs=0, epsrel=1e-11
    )[0]
    return val / np.exp(special.betaln(a, b))


def _one_minus_ratio_over_p(p, c, s, k):
    """(1 - (s / (s + p c))^k) / p, with its limit k c / s at p = 0."""
    if p == 0:
        return k * c / s
    return -np.expm1(-k * np.log1p(p * c / s)) / p


def _numeric_posterior(t, x, tx, T, r, alpha, a, b):
    alive = _beta_int(lambda p: (1 - p) ** x, a, b) * _G(T, x, r, alpha)
    dead = (
        _beta_int(lambda p: p * (1 - p) ** (x - 1), a, b) * _G(tx, x, r, alpha)
        if x > 0
        else 0.0
    )
    # E[purchases in t | alive at T, lambda, p] = (1 - e^{-lambda p t}) / p; integrate lambda
    # in closed form (G(T) - G(T + p t)), p numerically
    ey = _G(T, x, r, alpha) * _beta_int(
        lambda p: (1 - p) ** x * _one_minus_ratio_over_p(p, t, alpha + T, r + x), a, b
    )
    return alive / (alive + dead), ey / (alive + dead)


PARAM_SETS = [
    FHL,
    {"r": 1.7, "alpha": 12.0, "a": 2.3, "b": 4.0},  # a > 1
    {"r": 0.4, "alpha": 2.0, "a": 0.3, "b": 0.5},  # a + b < 1
    {"r": 0.9, "alpha": 3.0, "a": 1.0, "b": 3.0},  # a == 1 (removable singularity)
]


@pytest.mark.parametrize("params", PARAM_SETS)
@pytest.mark.parametrize(
    "x,tx,T,t",
    [
        (2, 30.43, 38.86, 39.0),
        (0, 0.0, 20.0, 10.0),
        (1, 1.71, 38.86, 52.0),
        (25, 70.0, 78.0, 13.0),
        (5, 3.0, 90.0, 100.0),
    ],
)
def test_closed_forms_match_integration(params, x, tx, T, t):
    m = clv.BetaGeoFit.from_params(**params)
    pa, ey = _numeric_posterior(t, x, tx, T, **params)
    assert m.p_alive(x, tx, T) == pytest.approx(pa, rel=1e-8)
    assert m.expected_purchases(t, x, tx, T) == pytest.approx(ey, rel=1e-6)


@pytest.mark.parametrize("params", PARAM_SETS)
def test_unconditional_expectation_matches_integration(params):
    m = clv.BetaGeoFit.from_params(**params)
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    for t in (1.0, 39.0, 78.0, 500.0):
        num = _beta_int(lambda p, t=t: _one_minus_ratio_over_p(p, t, alpha, r), a, b)
        assert m.expected_purchases_new(t) == pytest.approx(num, rel=1e-7)
        # eq. 9 is eq. 10 for a customer just acquired (x = t_x = T = 0)
        assert m.expected_purchases_new(t) == pytest.approx(
            m.expected_purchases(t, 0, 0, 0), rel=1e-12
        )


def test_eq10_matches_untransformed_formula():
    """The Euler-transformed evaluation equals eq. 10 as printed, where the latter is stable."""
    r, alpha, a, b = FHL.values()
    m = clv.BetaGeoFit.from_params(**FHL)
    for x, tx, T, t in [
        (2, 30.43, 38.86, 39),
        (0, 0, 38.86, 39),
        (7, 35.0, 38.0, 20),
        (1, 5.0, 60.0, 80),
    ]:
        z = t / (alpha + T + t)
        top = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + T) / (alpha + T + t)) ** (r + x)
                * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
        )
        bottom = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
        assert m.expected_purchases(t, x, tx, T) == pytest.approx(
            top / bottom, rel=1e-9
        )


def test_cdnow_unconditional_expectation_by_simulation():
    """E[X(39)] for a new CDNOW customer (eq. 9) against simulated new customers."""
    m = clv.BetaGeoFit.from_params(**FHL)
    want = m.expected_purchases_new(39.0)
    assert round(want, 4) == 1.1967  # value of eq. 9 at the published parameters
    sim = simulate_customers(
        200_000, **FHL, acquisition_days=1, end_day=39 * 7 - 1, seed=7
    )
    # everyone starts within day 0 and is watched to the end of day 272: T = 39 weeks - u/7
    ex = sim["exact"]
    got = ex["x"].mean()
    se = ex["x"].std() / np.sqrt(len(ex))
    expected_at_mean_T = float(np.mean(m.expected_purchases_new(ex["T"].to_numpy())))
    assert abs(got - expected_at_mean_T) < 4 * se, (got, expected_at_mean_T, se)
    assert abs(expected_at_mean_T - want) < 0.01


# ----------------------------------------------------------------------------------------------
# 3. calibration / holdout
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def holdout():
    s = simulate_customers(
        40_000,
        **TRUE_BG,
        **TRUE_GG,
        acquisition_days=364,
        end_day=2 * 364 + 182,
        seed=99,
    )
    cal_end = START + pd.Timedelta(days=2 * 364)
    obs_end = START + pd.Timedelta(days=2 * 364 + 182)
    ch = clv.calibration_holdout(
        s["log"], "customer_id", "ts", "amount", cal_end, obs_end, time_unit="W"
    )
    fit = clv.fit_bg_nbd(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    return s, ch, fit


def test_calibration_holdout_frame(holdout):
    s, ch, _ = holdout
    assert list(ch.columns) == [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert len(ch) == 40_000  # everyone was acquired before the calibration end
    assert (ch["duration_holdout"] == 26.0).all()
    # calibration part = summarize_transactions at calibration_end; holdout + calibration
    # purchase days = the full-period summary's
    full = clv.summarize_transactions(
        s["log"], "customer_id", "ts", "amount", START + pd.Timedelta(days=s["end_day"])
    )
    assert np.array_equal(
        (ch["frequency_cal"] + ch["frequency_holdout"]).to_numpy(),
        full["frequency"].to_numpy(),
    )
    cal = clv.summarize_transactions(
        s["log"], "customer_id", "ts", "amount", START + pd.Timedelta(days=2 * 364)
    )
    np.testing.assert_allclose(
        ch[["frequency_cal", "recency_cal", "T_cal"]].to_numpy(),
        cal[["frequency", "recency", "T"]].to_numpy(),
    )


def test_holdout_predicted_vs_actual(holdout):
    _, ch, fit = holdout
    assert max(_rel(fit.params, TRUE_BG).values()) < 0.15
    table = clv.predicted_vs_actual_by_frequency(fit, ch, max_frequency=7)
    assert list(table["label"]) == ["0", "1", "2", "3", "4", "5", "6", "7+", "total"]
    total = table.loc[-1]
    assert total["n_customers"] == len(ch)
    assert total["actual_total"] == ch["frequency_holdout"].sum()
    rel = abs(total["predicted_total"] - total["actual_total"]) / total["actual_total"]
    assert rel < 0.04, table
    # by calibration frequency: every bin's predicted mean within 4 standard errors of the
    # actual mean (the holdout counts' own sampling noise), and within 10 % on the large bins
    bins = np.minimum(ch["frequency_cal"], 7)
    se = ch.groupby(bins)["frequency_holdout"].std() / np.sqrt(ch.groupby(bins).size())
    rows = table.iloc[:-1]
    z = (rows["predicted_mean"] - rows["actual_mean"]).abs() / se.reindex(rows.index)
    assert (z < 4).all(), (table, z)
    big = rows[rows["n_customers"] >= 2000]
    assert len(big) >= 4
    assert (
        (big["predicted_mean"] - big["actual_mean"]).abs() / big["actual_mean"] < 0.10
    ).all(), table



def test_holdout_table_does_not_depend_on_row_order(holdout):
    """The warehouse hands the rows over in its threads' scan order: the same customers in another
    order give the same table, to the last digit of every float sum."""
    _, ch, fit = holdout
    table = clv.predicted_vs_actual_by_frequency(fit, ch, max_frequency=7)
    shuffled = ch.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(clv.predicted_vs_actual_by_frequency(fit, shuffled, max_frequency=7), table,
                                  check_exact=True)

def test_holdout_needs_calibration_data():
    log = pd.DataFrame({"c": [1], "ts": [pd.Timestamp("2024-05-01")], "v": [1.0]})
    with pytest.raises(ValueError, match="observation_end must be after"):
        clv.calibration_holdout(log, "c", "ts", "v", "2024-06-01", "2024-05-01")
    with pytest.raises(
        ValueError, match="no transactions on or before calibration_end"
    ):
        clv.calibration_holdout(log, "c", "ts", "v", "2024-04-01", "2024-06-01")


# ----------------------------------------------------------------------------------------------
# CLV
# ----------------------------------------------------------------------------------------------


def test_customer_lifetime_value_matches_manual_sum():
    bg = clv.BetaGeoFit.from_params(**FHL)
    gg = clv.GammaGammaFit.from_params(**FH_GG)
    x = np.array([0, 2, 1, 10])
    tx = np.array([0.0, 30.43, 1.71, 35.0])
    T = np.array([38.86, 38.86, 38.86, 38.86])
    m = np.array([0.0, 22.35, 11.77, 40.0])
    got = clv.customer_lifetime_value(
        bg, gg, x, tx, T, m, months=12, discount_rate=0.01
    )
    spend = gg.expected_spend(x, m)
    want = np.zeros(4)
    for i in range(1, 13):
        step = bg.expected_purchases(i * 30 / 7, x, tx, T) - bg.expected_purchases(
            (i - 1) * 30 / 7, x, tx, T
        )
        want += step * spend / 1.01**i
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # no discounting: telescopes to E[purchases in 360 days] * E[spend]
    flat = clv.customer_lifetime_value(
        bg, gg, x, tx, T, m, months=12, discount_rate=0.0
    )
    np.testing.assert_allclose(
        flat, bg.expected_purchases(360 / 7, x, tx, T) * spend, rtol=1e-12
    )
    # the same model in days (alpha scales with the unit; r, a, b do not) gives the same CLV
    bg_days = clv.BetaGeoFit.from_params(FHL["r"], FHL["alpha"] * 7, FHL["a"], FHL["b"])
    in_days = clv.customer_lifetime_value(
        bg_days, gg, x, tx * 7, T * 7, m, time_unit="D"
    )
    np.testing.assert_allclose(in_days, got, rtol=1e-10)
    assert np.all(clv.customer_lifetime_value(bg, gg, x, tx, T, m, months=0) == 0)
    s = clv.customer_lifetime_value(bg, gg, pd.Series(x, index=list("abcd")), tx, T, m)
    assert isinstance(s, pd.Series) and list(s.index) == list("abcd")
    with pytest.raises(ValueError, match="time_unit"):
        clv.customer_lifetime_value(bg, gg, x, tx, T, m, time_unit="M")


# ----------------------------------------------------------------------------------------------
# 4. edges
# ----------------------------------------------------------------------------------------------


def test_frequency_zero_customers_and_p_alive():
    m = clv.BetaGeoFit.from_params(**FHL)
    assert m.p_alive(0, 0, 38.86) == 1.0
    assert np.all(m.p_alive(np.zeros(5), np.zeros(5), np.linspace(0, 100, 5)) == 1.0)
    # the model predicts purchases for never-repeating customers, decreasing with T
    e = m.expected_purchases(39, np.zeros(3), np.zeros(3), np.array([1.0, 20.0, 80.0]))
    assert np.all(e > 0) and np.all(np.diff(e) < 0)
    # p_alive falls as the customer stays silent for longer
    pa = m.p_alive(np.full(4, 3), np.full(4, 10.0), np.array([10.0, 20.0, 40.0, 80.0]))
    assert pa[0] == pytest.approx(1 / (1 + FHL["a"] / (FHL["b"] + 2)))
    assert np.all(np.diff(pa) < 0)


def test_t_zero_gives_zero_expected_purchases():
    m = clv.BetaGeoFit.from_params(**FHL)
    assert m.expected_purchases(0, 2, 30.43, 38.86) == 0.0
    assert m.expected_purchases_new(0) == 0.0
    e = m.expected_purchases(np.array([0.0, 1e-9, 1.0]), 3, 10.0, 20.0)
    assert e[0] == 0 and 0 < e[1] < 1e-8 and e[2] > e[1]


def test_frequent_buyers_no_overflow():
    m = clv.BetaGeoFit.from_params(**FHL)
    x = np.array([500.0, 500.0, 2000.0, 5000.0])
    tx = np.array([99.0, 50.0, 100.0, 100.0])
    T = np.full(4, 100.0)
    with np.errstate(all="raise"):
        pa = m.p_alive(x, tx, T)
        e = m.expected_purchases(10.0, x, tx, T)
        ll = clv.bg_nbd_log_likelihood(FHL, x, tx, T)
    assert np.all(np.isfinite(pa)) and np.all(np.isfinite(e)) and np.isfinite(ll)
    assert pa[1] < 1e-50 < pa[0]  # silent for 50 weeks at ~5 purchases a week: gone
    # alive and buying at ~(r+x)/(alpha+T) per week, a little less because of dropout
    rate = (FHL["r"] + 500) / (FHL["alpha"] + 100)
    assert 0.8 * rate * 10 * pa[0] < e[0] < rate * 10 * pa[0]
    assert e[3] > e[2] > e[0]
    # against the integration above (x = 500)
    pa_num, ey_num = _numeric_posterior(10.0, 500, 99.0, 100.0, **FHL)
    assert pa[0] == pytest.approx(pa_num, rel=1e-6)
    assert e[0] == pytest.approx(ey_num, rel=1e-5)
    # fitting with a few frequent buyers works
    rng = np.random.default_rng(3)
    sim = simulate_customers(5_000, **TRUE_BG, seed=5)["exact"]
    x2 = np.r_[sim["x"], rng.integers(300, 800, 20)]
    T2 = np.r_[sim["T"], np.full(20, 100.0)]
    tx2 = np.r_[sim["t_x"], np.full(20, 99.0)]
    fit = clv.fit_bg_nbd(x2, tx2, T2)
    assert np.isfinite(fit.log_likelihood) and np.all(
        np.isfinite(list(fit.params.values()))
    )
    spend = simulate_customers(5_000, **TRUE_BG, **TRUE_GG, seed=6)["exact"]
    gg = clv.fit_gamma_gamma(
        np.r_[spend["x"], [5000, 800]], np.r_[spend["zbar"], [30.0, 12.0]]
    )
    assert np.isfinite(gg.log_likelihood) and np.all(
        np.isfinite(list(gg.params.values()))
    )
    with np.errstate(all="raise"):
        assert np.isfinite(gg.expected_spend(5000, 30.0))


def test_grouping_gives_same_log_likelihood(cdnow):
    args = (cdnow["x"], cdnow["t_x"], cdnow["T"])
    grouped = clv.bg_nbd_log_likelihood(FHL, *args, group=True)
    ungrouped = clv.bg_nbd_log_likelihood(FHL, *args, group=False)
    assert grouped == pytest.approx(ungrouped, rel=1e-12)
    # and a direct per-customer evaluation of FHL eq. 6
    r, alpha, a, b = FHL.values()
    x, tx, T = (np.asarray(v, float) for v in args)
    l1 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    l2 = np.where(
        x > 0,
        special.betaln(a + 1, np.maximum(b + x - 1, 1e-300))
        - special.betaln(a, b)
        - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    direct = np.sum(
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + np.logaddexp(l1, l2)
    )
    assert grouped == pytest.approx(direct, rel=1e-12)
    g1 = clv.gamma_gamma_log_likelihood(FH_GG, cdnow["x"], cdnow["zbar"], group=True)
    g2 = clv.gamma_gamma_log_likelihood(FH_GG, cdnow["x"], cdnow["zbar"], group=False)
    assert g1 == pytest.approx(g2, rel=1e-12)
    # Gamma-Gamma density of the mean of x Gamma(p, nu) amounts, integrated over nu
    p, q, g = FH_GG.values()
    sel = cdnow[cdnow["x"] > 0]
    xs, zs = sel["x"].to_numpy(float), sel["zbar"].to_numpy(float)
    direct_gg = np.sum(
        special.gammaln(p * xs + q)
        - special.gammaln(p * xs)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * xs - 1) * np.log(zs)
        + p * xs * np.log(xs)
        - (p * xs + q) * np.log(g + xs * zs)
    )
    assert g1 == pytest.approx(direct_gg, rel=1e-12)
    # fit on duplicated rows == fit with weights
    fit_w = clv.fit_bg_nbd(*args, weights=np.full(len(cdnow), 2.0))
    fit_d = clv.fit_bg_nbd(*(np.r_[v, v] for v in args))
    assert fit_w.log_likelihood == pytest.approx(fit_d.log_likelihood, rel=1e-10)
    assert fit_w.r == pytest.approx(fit_d.r, rel=1e-6)


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="empty"):
        clv.fit_bg_nbd([], [], [])
    with pytest.raises(ValueError, match="frequency must be >= 0"):
        clv.fit_bg_nbd([-1, 2], [0, 1], [3, 3])
    with pytest.raises(ValueError, match="recency must be <= T"):
        clv.fit_bg_nbd([1, 2], [5, 1], [3, 3])
    with pytest.raises(ValueError, match="recency must be >= 0"):
        clv.fit_bg_nbd([1, 2], [-1, 1], [3, 3])
    with pytest.raises(ValueError, match="T must be >= 0"):
        clv.fit_bg_nbd([0, 2], [0, 1], [-3, 3])
    with pytest.raises(ValueError, match="same length"):
        clv.fit_bg_nbd([1, 2], [1], [3, 3, 3])
    with pytest.raises(ValueError, match="same length"):
        clv.fit_bg_nbd([1, 2], [1], [3, 3])
    with pytest.raises(ValueError, match="same length"):
        clv.fit_gamma_gamma([1, 2], [3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match="whole number"):
        clv.fit_bg_nbd([1.5, 2], [1, 1], [3, 3])
    with pytest.raises(ValueError, match="frequency 0 must have recency 0"):
        clv.fit_bg_nbd([0, 2], [1, 1], [3, 3])
    with pytest.raises(ValueError, match="non-finite"):
        clv.fit_bg_nbd([1, 2], [np.nan, 1], [3, 3])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        clv.fit_bg_nbd([0, 0], [0, 0], [3, 3])
    with pytest.raises(ValueError, match="monetary_value <= 0"):
        clv.fit_gamma_gamma([1, 2], [10.0, 0.0])
    with pytest.raises(ValueError, match="monetary_value must be >= 0"):
        clv.fit_gamma_gamma([1, 2], [10.0, -1.0])
    with pytest.raises(ValueError, match="Gamma-Gamma needs frequency > 0"):
        clv.fit_gamma_gamma([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="empty"):
        clv.fit_gamma_gamma([], [])
    with pytest.raises(ValueError, match="parameters"):
        clv.BetaGeoFit.from_params(0.2, -1, 1, 1)
    m = clv.BetaGeoFit.from_params(**FHL)
    with pytest.raises(ValueError, match="t must be >= 0"):
        m.expected_purchases(-1, 1, 1, 2)
    with pytest.raises(ValueError, match="q <= 1"):
        clv.GammaGammaFit.from_params(1.0, 0.9, 1.0).expected_spend(1, 10.0)


def test_non_convergence_raises():
    # every customer bought steadily right up to the end: no evidence of dropout, the MLE of
    # the dropout probability runs to 0 (a -> 0 or b -> inf)
    x = np.arange(1, 200) % 9 + 1
    T = np.full(x.size, 50.0)
    with pytest.raises(clv.ConvergenceError, match="bound"):
        clv.fit_bg_nbd(x, T, T)
    # identical spends: no heterogeneity, q and gamma run off to infinity
    with pytest.raises(clv.ConvergenceError):
        clv.fit_gamma_gamma(np.full(100, 3), np.full(100, 20.0))


# ----------------------------------------------------------------------------------------------
# summarize_transactions: semantics and validation
# ----------------------------------------------------------------------------------------------


def _log():
    return pd.DataFrame(
        {
            "cust": ["a", "a", "a", "a", "b", "c", "c", "d"],
            "when": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 18:00",  # same day: one purchase of 30
                    "2024-01-15 10:00",
                    "2024-01-29 23:59",
                    "2024-01-08 12:00",
                    "2024-01-02 08:00",
                    "2024-03-01 08:00",  # second one after as_of
                    "2024-02-05 00:00",  # first purchase after as_of: absent
                ]
            ),
            "spend": [10.0, 20.0, 40.0, 60.0, 5.0, 7.0, 9.0, 1.0],
        }
    )


def test_summarize_semantics():
    s = clv.summarize_transactions(
        _log(), "cust", "when", "spend", "2024-01-29", time_unit="D"
    )
    assert list(s.index) == ["a", "b", "c"]
    a = s.loc["a"]
    assert (
        a["frequency"] == 2 and a["recency"] == 28 and a["T"] == 28
    )  # as_of day is included
    assert (
        a["monetary_value"] == 50.0
    )  # repeat days 40 and 60; the first day (30) excluded
    assert tuple(s.loc["b"]) == (0, 0.0, 21.0, 0.0)
    assert tuple(s.loc["c"]) == (0, 0.0, 27.0, 0.0)
    assert s["frequency"].dtype == np.int64
    w = clv.summarize_transactions(
        _log(), "cust", "when", "spend", pd.Timestamp("2024-01-29 06:00"), time_unit="W"
    )
    np.testing.assert_allclose(
        w[["recency", "T"]].to_numpy(), s[["recency", "T"]].to_numpy() / 7
    )
    assert (
        w.loc["a", "frequency"] == 2
    )  # as_of's time of day does not matter: whole day counts
    # later as_of
    later = clv.summarize_transactions(
        _log(), "cust", "when", "spend", "2024-03-31", time_unit="D"
    )
    assert later.loc["c", "frequency"] == 1 and later.loc["c", "monetary_value"] == 9.0
    assert "d" in later.index
    # no monetary column
    nm = clv.summarize_transactions(_log(), "cust", "when", None, "2024-01-29")
    assert list(nm.columns) == ["frequency", "recency", "T"]
    # none before as_of: empty frame with the columns
    empty = clv.summarize_transactions(_log(), "cust", "when", "spend", "2023-12-01")
    assert empty.empty and list(empty.columns) == [
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]


def test_summarize_time_zones():
    log = pd.DataFrame(
        {
            "c": [1, 1],
            # 23:30 and 00:30 local time in New York: two different local days
            "ts": pd.to_datetime(
                ["2024-03-01T23:30:00-05:00", "2024-03-02T00:30:00-05:00"]
            ).tz_convert("America/New_York"),
            "v": [1.0, 2.0],
        }
    )
    s = clv.summarize_transactions(
        log, "c", "ts", "v", pd.Timestamp("2024-03-10", tz="America/New_York"), "D"
    )
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "T"] == 9


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_summarize_invalid_inputs():
    log = _log()
    with pytest.raises(ValueError, match="time_unit"):
        clv.summarize_transactions(
            log, "cust", "when", "spend", "2024-02-01", time_unit="M"
        )
    with pytest.raises(ValueError, match="no column"):
        clv.summarize_transactions(log, "customer", "when", "spend", "2024-02-01")
    bad = log.assign(spend=log["spend"].astype(object))
    bad.loc[0, "spend"] = "ten"
    with pytest.raises(ValueError, match="numeric spend"):
        clv.summarize_transactions(bad, "cust", "when", "spend", "2024-02-01")
    with pytest.raises(ValueError, match="negative spend"):
        clv.summarize_transactions(
            log.assign(spend=-log["spend"]), "cust", "when", "spend", "2024-02-01"
        )
    with pytest.raises(ValueError, match="non-finite spend"):
        clv.summarize_transactions(
            log.assign(spend=np.nan), "cust", "when", "spend", "2024-02-01"
        )
    with pytest.raises(ValueError, match="missing customer id"):
        clv.summarize_transactions(
            log.assign(cust=None), "cust", "when", "spend", "2024-02-01"
        )
    with pytest.raises(ValueError, match="missing datetime"):
        clv.summarize_transactions(
            log.assign(when=pd.NaT), "cust", "when", "spend", "2024-02-01"
        )
    with pytest.raises(ValueError, match="not parseable"):
        clv.summarize_transactions(
            log.assign(when="not a date"), "cust", "when", "spend", "2024-02-01"
        )
    with pytest.raises(ValueError, match="empty"):
        clv.summarize_transactions(log.iloc[:0], "cust", "when", "spend", "2024-02-01")
    with pytest.raises(ValueError, match="as_of"):
        clv.summarize_transactions(log, "cust", "when", "spend", "yesterday-ish")
    with pytest.raises(ValueError, match="DataFrame"):
        clv.summarize_transactions(log.to_dict(), "cust", "when", "spend", "2024-02-01")
