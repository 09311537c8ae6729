"""One number format: the rule (``autodiff_nb.core.number_format``) and the places that share it.

References are independent of the code under test: Python's own ``g`` format
(correctly rounded, trailing zeros dropped) for float64, the shortest text
that reads back as the same float32 for float32, and brute force for the
digits needed to tell values apart.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb.core.number_format import (DISPLAY, MAX_DIGITS, MIN_DIGITS, TEXT, NumberFormat,
                                            _dragon4, digits_to_tell_apart, number_text)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_stepper import SEED, lecture_net   # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def python_g(x, digits):
    """The reference for float64: Python's ``g``, which drops trailing zeros itself."""
    return "0" if x == 0 else format(x, f".{digits}g")


def samples():
    """Floats over many magnitudes, both signs, exact ties (k / 2^n) and round numbers."""
    rng = np.random.default_rng(14)
    values = rng.normal(size=300) * 10.0 ** rng.integers(-14, 14, size=300)
    ties = np.arange(1, 200) / 2.0 ** rng.integers(1, 12, size=199)
    round_numbers = [0.5, 2.0, 6.881, 0.05, 0.1, 0.3, 1e-4, 9.9999e-5, 99995.0, 1e16, 123456.0]
    return [float(v) for v in [*values, *-ties, *ties, *round_numbers, *np.negative(round_numbers)]]


# --- the rule -------------------------------------------------------------------------

@pytest.mark.parametrize("digits", range(MIN_DIGITS, MAX_DIGITS + 1))
def test_float64_is_pythons_g_at_every_precision(digits):
    numbers = NumberFormat(digits)
    for x in samples():
        assert numbers.number(x) == python_g(x, digits), (x, digits)


@pytest.mark.parametrize("digits", range(MIN_DIGITS, MAX_DIGITS + 1))
def test_numpys_dragon4_path_agrees_with_pythons_g_on_float64(digits):
    """Float32 and subnormals go through NumPy's Dragon4; float64 through Python's format.
    On float64, the two must give the same text."""
    for x in samples():
        if x != 0:
            assert _dragon4(x, digits) == python_g(x, digits), (x, digits)


def test_the_issues_numbers_print_without_trailing_zeros():
    assert [TEXT.number(x) for x in (2.0, 0.5, 6.881, 0.05)] == ["2", "0.5", "6.881", "0.05"]
    assert TEXT.number(-0.04360459) == "-0.0436" and DISPLAY.number(-0.04360459) == "−0.0436"


def test_special_values_ints_bools_and_extremes():
    cases = [(float("nan"), "nan"), (float("inf"), "inf"), (float("-inf"), "-inf"), (-0.0, "0"),
             (1e-12, "1e-12"), (-1e-300, "-1e-300"), (5e-324, repr(5e-324)), (1e300, "1e+300"),
             (12345.0, "1.234e+04"), (3, "3"), (-7, "-7"), (np.int64(2 ** 62), str(2 ** 62)),
             (True, "True"), (np.bool_(False), "False")]
    for value, text in cases:
        assert TEXT.number(value) == text, value
    assert DISPLAY.number(1e-12) == "1e−12" and DISPLAY.number(float("-inf")) == "−inf"
    assert TEXT.number(np.array([[0.25]])) == "0.25"           # a one-element array


def test_float32_prints_its_own_shortest_text():
    rng = np.random.default_rng(3)
    for x in [np.float32(0.1), np.float32(2 / 3), *rng.normal(size=200).astype(np.float32)]:
        for digits in (MIN_DIGITS, MAX_DIGITS):
            # The reference: the fewest digits (up to `digits`) that read back as this float32,
            # else `digits` digits correctly rounded.
            exact = [format(float(x), f".{d}g") for d in range(1, digits + 1)
                     if np.float32(format(float(x), f".{d}g")) == x]
            expected = exact[0] if exact else format(float(x), f".{digits}g")
            assert NumberFormat(digits).number(x) == expected, (x, digits)
    assert TEXT.number(np.float32(0.1)) == "0.1"                 # not 0.1000000015


def brute_force_digits(values):
    """Fewest digits from MIN that give different texts to every two values that differ at
    MAX digits (closer ones differ by float rounding only), by trying every pair."""
    values = [float(v) for v in values]
    apart = [(a, b) for a in values for b in values
             if python_g(a, MAX_DIGITS) != python_g(b, MAX_DIGITS)]
    for digits in range(MIN_DIGITS, MAX_DIGITS + 1):
        if all(python_g(a, digits) != python_g(b, digits) for a, b in apart):
            return digits
    return MAX_DIGITS


def test_values_that_differ_in_the_fifth_digit_are_told_apart():
    assert digits_to_tell_apart([2.0, 0.5, 6.881, 0.05]) == MIN_DIGITS
    values = [1.00001, 1.00002, 0.7132]
    numbers = NumberFormat.fitted(values)
    assert [numbers.number(v) for v in values] == ["1.00001", "1.00002", "0.7132"]
    assert NumberFormat.fitted([0.71321, 0.71322]).number(0.71321) == "0.71321"


def test_fitted_digits_match_brute_force_on_random_clusters():
    rng = np.random.default_rng(7)
    for _ in range(200):
        centre = rng.normal() * 10.0 ** rng.integers(-6, 6)
        spread = abs(centre) * 10.0 ** -rng.integers(1, 9)
        values = centre + spread * rng.integers(-3, 4, size=rng.integers(2, 6))
        assert digits_to_tell_apart([values]) == brute_force_digits(values), values.tolist()


def test_float_noise_does_not_lengthen_every_number():
    assert digits_to_tell_apart([0.1 + 0.2, 0.3]) == MIN_DIGITS    # alike even at MAX digits
    assert digits_to_tell_apart([np.arange(5, dtype=np.int64)]) == MIN_DIGITS
    assert digits_to_tell_apart([np.array([np.nan, np.inf, 1.0])]) == MIN_DIGITS


def test_numpy_print_options_do_not_change_any_text():
    x = ad.Tensor([[0.5, -2.0], [1e-12, 6.881]], requires_grad=True, name="x")
    loss = (x * 3.0).sum()
    loss.backward()
    before = (repr(x), str(ad.show_tape(loss)), ad.draw(loss).source)
    with np.printoptions(precision=1, sign="+", floatmode="fixed", suppress=True, legacy="1.13"):
        assert (repr(x), str(ad.show_tape(loss)), ad.draw(loss).source) == before


# --- the places that share it -------------------------------------------------------------

def drawn_cells(svg):
    """{cell id: [texts]} of every value and gradient cell in a drawing's SVG."""
    cells = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if re.fullmatch(r"a_.*_(value|grad)", group.get("id", "")):
            cells[group.get("id")] = [t.text for t in group.iter(f"{SVG}text")]
    return cells


def test_a_drawing_shows_the_issues_values_exactly():
    leaves = [ad.Tensor(v, requires_grad=True, name=name)
              for v, name in ((2.0, "a"), (0.5, "b"), (6.881, "c"), (0.05, "d"))]
    total = ad.add(*leaves)
    graph = ad.draw(total)
    cells = drawn_cells(graph.svg())
    assert [cells[f"a_{graph.id_of(t)}_value"] for t in leaves] == [["2"], ["0.5"], ["6.881"],
                                                                    ["0.05"]]


def test_a_drawing_tells_apart_values_that_differ_in_the_fifth_digit():
    a = ad.Tensor(1.00001, requires_grad=True, name="a")
    b = ad.Tensor(1.00002, requires_grad=True, name="b")
    graph = ad.draw(a * b)
    cells = drawn_cells(graph.svg())
    assert cells[f"a_{graph.id_of(a)}_value"] == ["1.00001"]
    assert cells[f"a_{graph.id_of(b)}_value"] == ["1.00002"]
    # Alone, each would read 1: four digits cannot tell them apart.
    alone = ad.draw(ad.tanh(a))
    assert drawn_cells(alone.svg())[f"a_{alone.id_of(a)}_value"] == ["1"]


def test_the_panel_and_the_cells_print_every_value_alike():
    """In every frame, the gradient each update leaves is written the same in its cell and
    in the panel (its result, or the sum of a "+=")."""
    net = lecture_net()
    stepper = ad.step_through(net["z1"], SEED)
    checked = 0
    for k in range(1, len(stepper)):
        cells = drawn_cells(stepper.svg(k))
        text = stepper.explanation(k).text()
        for update in stepper.snapshot(k).step.updates:
            cell = cells[f"a_{stepper.frame(0).id_of(update.tensor)}_grad"]
            assert cell == [stepper.numbers.number(update.after)]
            assert re.search(rf"(= |\+ ){re.escape(cell[0])}(\s|\)|$)", text), (k, cell, text)
            checked += 1
    assert checked >= 11
    # A negative gradient: the same digits and the same minus sign in the cell and the panel.
    wx1 = f"{net['Wx1'].grad.item():.4g}".replace("-", "−")
    assert wx1.startswith("−")
    assert drawn_cells(stepper.svg(-1))[f"a_{stepper.frame(0).id_of(net['Wx1'])}_grad"] == [wx1]
    assert any(f"= {wx1}" in stepper.explanation(k).text() for k in range(len(stepper)))


def test_a_stepper_fits_one_format_to_all_its_frames():
    a = ad.Tensor(1.00001, requires_grad=True, name="a")
    b = ad.Tensor(1.00002, requires_grad=True, name="b")
    stepper = ad.step_through(a * b)
    assert stepper.numbers.digits == 6
    assert "1.00001" in stepper.explanation(1).text() and "1.00002" in stepper.explanation(1).text()
    final = drawn_cells(stepper.svg(-1))
    assert final[f"a_{stepper.frame(0).id_of(a)}_grad"] == ["1.00002"]      # ∂(ab)/∂a = b


def test_repr_and_listing_write_python_text():
    assert repr(ad.Tensor(-0.04360459)) == "Tensor(-0.0436, shape=())"
    assert repr(ad.Tensor([2.0, 0.5, 6.881, 0.05])).startswith("Tensor([    2,   0.5, 6.881,  0.05]")
    assert repr(ad.Tensor([1.00001, 1.00002])).startswith("Tensor([1.00001, 1.00002]")
    assert repr(ad.Tensor(np.float32(0.1))).startswith("Tensor(0.1, ")
    assert "1e-12" in repr(ad.Tensor([1e-12, 1.0]))
    x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
    listing = str(ad.show_tape(ad.maximum(x * 0.05, x * -2.5)))
    assert "mul(x, 0.05)" in listing and "mul(x, -2.5)" in listing
    assert number_text(ad.Tensor(0.5)) == "0.5" and ad.number_text(-1e-12) == "-1e-12"
