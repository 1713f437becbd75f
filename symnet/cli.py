"""The ``symnet`` command line: ``symnet demo`` derives and checks a 3-4-2 network."""

import argparse
import sys

import numpy as np

__all__ = ["main"]


def _relative_error(exact, numeric):
    scale = np.maximum(np.abs(exact), np.abs(numeric)).max()
    return float(np.abs(exact - numeric).max() / max(scale, 1e-300))


def demo(out=sys.stdout):
    """Derive every derivative of a 3-4-2 tanh network and check it against central differences."""
    import symnet
    from symnet.numdiff import central_difference

    net = symnet.MLP([3, 4, 2], hidden="tanh", output="linear")
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    w = net.init_params(seed=0)
    say = lambda *parts: print(*parts, file=out)  # noqa: E731
    say(f"symnet {symnet.__version__}: {net!r}, W = {net.n_params} parameters, N = 5 samples")
    say("parameters in column order:", ", ".join(p.name for p in net.params[:6]), "...",
        net.params[-1].name)

    grad = symnet.gradient(net, "sse")
    say("\nThe delta recursion (sum-of-squares error, linear outputs):")
    for symbol, value in grad.definitions.items():
        if symbol.name.startswith("delta") and symbol.name.endswith(("_1^(1)", "_1^(2)")):
            say(f"  {symbol} = {value}")
    say(f"  dE/d{net.params[0]} = {grad.named[0]}")

    forward = lambda W_: np.array([net.forward(X, v) for v in W_])  # noqa: E731
    error = lambda W_: np.array([symnet.loss_value(net, "sse", X, v, T) for v in W_])  # noqa: E731
    rows = []
    J_back, J_direct = symnet.input_jacobian(net), symnet.input_jacobian(net, method="direct")
    same = all(e == 0 for e in (J_back.matrix - J_direct.matrix).expand())
    numeric = np.stack([central_difference(lambda V, n=n: net.forward(V, w), X[n])
                        for n in range(5)]).transpose(0, 2, 1)
    rows.append(("input Jacobian", "(5, 2, 3)", J_back.evaluate(X, w), numeric))
    rows.append(("gradient", "(26,)", grad.evaluate(X, w, T), central_difference(error, w)))
    P = symnet.param_jacobian(net).evaluate(X, w)
    rows.append(("parameter Jacobian", "(5, 2, 26) -> LM (10, 26)", P,
                 central_difference(forward, w).transpose(1, 2, 0)))
    H = symnet.hessian(net, "sse").evaluate(X, w, T)
    gradient_at = lambda W_: np.array([grad.evaluate(X, v, T) for v in W_])  # noqa: E731
    rows.append(("Hessian", "(26, 26)", H, central_difference(gradient_at, w)))
    say("\nExact (symbolic, compiled to NumPy) against central differences:")
    worst = 0.0
    for name, shape, exact, numeric in rows:
        error_ = _relative_error(exact, numeric)
        worst = max(worst, error_)
        say(f"  {name:<20} {shape:<26} max relative error {error_:.1e}")
    say(f"\nInput Jacobian by backprop equals direct differentiation symbolically: {same}")
    say(f"Hessian symmetric: {np.allclose(H, H.T, rtol=0, atol=1e-12)}")
    ok = same and worst < 1e-6
    say("All checks passed." if ok else "SOME CHECKS FAILED.")
    return 0 if ok else 1


def main(argv=None):
    """Entry point of the ``symnet`` console script."""
    parser = argparse.ArgumentParser(
        prog="symnet", description="Exact derivatives of neural networks, symbolically.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("demo", help="derive and check a 3-4-2 network (the default)")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        return demo()
    parser.error(f"unknown command {args.command}")
    return 2
