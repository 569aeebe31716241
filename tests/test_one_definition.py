"""Each simulator equation is defined once, in b12sim.physiology, and the simulator's paths call it.

The numba kernel, the numpy engine, the reference integrator and the treatment
calibration must call the shared equations rather than write them out again, and
the kernel must read parameters by name, not through tables of positional indices.
"""

import ast
import inspect

import numpy as np
import pytest

from b12sim.physiology import backend, primitives
from b12sim.physiology import haematology as haem
from b12sim.simulation import engine, parameters, reference

# the simulator's physiology: absorption and losses, pool kinetics, marrow and red cells, nerves, markers
SIMULATOR_EQUATIONS = {
    "oral_absorbed", "retained", "food_kept", "loss_rate", "pool_update", "steady_pools", "halflife_rate",
    "first_order_step",
    "folic_acid_left", "folic_acid_effect", "deficit", "folate_deficit", "marrow_deficit", "folate_marrow_deficit",
    "stage_rates", "production_scale", "production", "new_cell_mcv", "steady_hb", "exposure_anchors",
    "exposure_rate", "nerve_constants", "nerve_hazards", "nerve_flows", "nerve_outputs", "nerve_generator",
    "b12_with_recent",
    "holotc_with_recent", "log_mma", "log_hcy",
}
KERNEL_EQUATIONS = SIMULATOR_EQUATIONS - {"food_kept", "steady_pools", "steady_hb", "nerve_generator"}  # used before it


def _tree(obj):
    return ast.parse(inspect.getsource(obj))


def _called(obj, owners=None) -> set[str]:
    """Names of the functions called in the source of a module or function: ``f`` of ``f(...)`` and of
    ``owner.f(...)`` (any owner, or with ``owners`` only those)."""
    out = set()
    for node in ast.walk(_tree(obj)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if owners is None or f.value.id in owners:
                    out.add(f.attr)
            elif isinstance(f, ast.Name) and owners is None:
                out.add(f.id)
    return out


@pytest.fixture(scope="module")
def kernel():
    from b12sim.simulation import _kernel

    return _kernel


def test_the_listed_equations_are_shared_ones():
    assert SIMULATOR_EQUATIONS <= set(backend.numpy().__dict__)


def test_kernel_calls_each_shared_equation(kernel):
    assert kernel.EQ is backend.numba()
    missing = KERNEL_EQUATIONS - _called(kernel, {"EQ"})
    assert not missing, f"the kernel writes these out instead of calling EQ.<name>: {sorted(missing)}"


def test_numpy_paths_call_the_same_equations():
    from b12sim.calibration import neurology, treatment

    engine_calls = _called(engine) | _called(reference) | _called(haem.marrow_rates)
    assert SIMULATOR_EQUATIONS <= engine_calls, SIMULATOR_EQUATIONS - engine_calls
    assert "halflife_rate" in _called(parameters.draw)
    # the reference integrator takes the pools and folic acid from their exact solution, not an ODE of its own
    assert {"pool_update", "folic_acid_left"} <= _called(reference)
    assert {"halflife_rate", "loss_rate", "oral_absorbed", "retained", "food_kept", "pool_update", "steady_pools",
            "deficit", "b12_with_recent", "log_mma", "log_hcy"} <= _called(treatment, {"eq", "kin"})
    assert {"nerve_constants", "nerve_generator"} <= _called(neurology, {"eq", "neuro"})


def test_kernel_has_no_index_tables_or_math_of_its_own(kernel):
    tree = _tree(kernel)
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            assert not (isinstance(func, ast.Name) and func.id == "range"), \
                f"line {node.lineno}: index constants from range()"
        if isinstance(node, ast.Assign) and all(isinstance(v, ast.Tuple) for v in (node.targets[0], node.value)):
            assert not all(isinstance(v, ast.Constant) and isinstance(v.value, int) for v in node.value.elts), \
                f"line {node.lineno}: a tuple of index constants"
    defined = {node.name.lstrip("_") for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert not defined & set(primitives.NAMES), "the kernel redefines primitives that fastmath provides"
    imported = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    assert "math" not in imported  # library exp/log would not vectorise; rates come from the equations


def test_parameters_reach_the_kernel_by_name(kernel):
    """The per-draw record holds every parameter the kernel reads, by name, from the draws and the evidence."""
    from b12sim.simulation import people as ppl

    p = parameters.draw(3, 1)
    arr = ppl.arrays(ppl.from_patient(dict(b12="95 pg/mL", mma=3.6, age=70, pernicious_anaemia=True)), p)
    c = engine.mk.Constants.load()
    q = engine.person_params(p, arr)
    st = engine.initial_state(q, arr, c)
    prm, cells = engine._kernel_inputs(p, q, st, arr, c)
    assert prm.dtype.names == kernel.PARAMS and len(prm) == 3
    for name in kernel.PARAMS:
        assert np.all(np.isfinite(prm[name])), name
        if name in p:
            np.testing.assert_array_equal(prm[name], p[name])
    read = {node.attr for node in ast.walk(_tree(kernel)) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "p"}
    assert read == set(kernel.PARAMS), read ^ set(kernel.PARAMS)  # each field is read, and only fields are
    np.testing.assert_array_equal(cells["q"][..., 0], st["q"][0])
    assert cells.shape == st["s"].shape
