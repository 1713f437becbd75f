r"""LaTeX of the derivations of a ``Network`` or ``RNN``, with weight sharing in sight.

``derivation.latex()`` and ``symnet.latex_document`` of a Network or RNN come here (from
``symnet.render.derivation_latex`` and ``symnet.render.document``). The sections are the
MLP's (forward pass, activation derivatives, deltas or sensitivities, entries), each with
its general rows written as a student writes them, then every named quantity of this
network instantiated:

* a convolution's shared kernel entry is a sum over positions,
  dE_n/dw_{c,c',m}^{(l)} = sum_{p=1}^{P} delta_{c,p}^{(l)} z_{c',p+m-1}^{(l-1)} (indices from 1),
  and its delta the transposed correlation;
* the RNN's deltas are backpropagation through time, delta^{(t)} = h'(a^{(t)}) o
  (W_hh^T delta^{(t+1)} + W_hy^T delta^{(y,t)}), and dE_n/dW_hh = sum_{t=2}^{T} delta^{(t)}
  h^{(t-1)T};
* a residual block's skip adds the identity, dz_out/dz_in = I + dF/dz_in.

Examples
--------
>>> import symnet
>>> from symnet.graph.layers import Conv1D, Dense, Flatten
>>> net = symnet.Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
>>> rows = entries_general(symnet.gradient(net, "sse"))
>>> print(rows[0].split(r", \qquad")[0])
\frac{\partial E_n}{\partial w_{c,c',m}^{(1)}} &= \sum_{p=1}^{3} \delta_{c,p}^{(1)} x_{c',p+m-1}
"""

import re

import sympy as sp

from ..derive.layered_derivations import compile_straight_line
from ..graph.latex_printer import omitted, signed_terms, take, tex, wrap_row
from ..graph.layers import Conv1D, Conv2D, Dense, Flatten, Residual
from ..graph.loss_kernels import derivative_in_value
from .latex_entries import MAX_ENTRIES, entry_rows
from .latex_forms import lm_rows

__all__ = ["layered_sections", "forward_general", "delta_general", "entries_general",
           "document_sections"]


# -- the structure: which layer each stage is ------------------------------------------------
def _is_rnn(net):
    return hasattr(net, "steps")


def stage_layers(net):
    """[(layer, source)] per stage of a Network: the layer it comes from (a Residual for its
    skip stage, whose ``source`` is the stage number of the block's input, 0 for x)."""
    found = []

    def walk(layers):
        for layer in layers:
            if isinstance(layer, Residual):
                source = len(found)
                walk(layer.layers)
                found.append((layer, source))
            elif not isinstance(layer, Flatten):
                found.append((layer, None))
    walk(net.layers)
    return found


def _positions(net, l):
    """P, the positions per output channel of stage l (a convolution)."""
    layer, _ = stage_layers(net)[l - 1]
    return len(net.stages[l - 1].pre) // layer.channels


def _conv_source(layer, net, l):
    """The input index read by tap m at position p (1-based): p+m-1, s(p-1)+m, less the
    zeros padded on the left."""
    stride = getattr(layer, "stride", 1)
    left = 0
    if getattr(layer, "padding", "valid") == "same":
        left = layer.pads(net.sizes[l - 1] // layer_input_channels(net, l))[0]
    if stride == 1:
        return f"p+m-{1 + left}"
    return f"{stride}(p-1)+m" + (f"-{left}" if left else "")


def layer_input_channels(net, l):
    """C_in of the convolution of stage l (the kernel's second axis)."""
    return net.stages[l - 1].weights.shape[1]


# -- forward pass ----------------------------------------------------------------------------
def forward_general(net, form="entries"):
    """The general equations of every stage, numbered as the stages are."""
    if _is_rnn(net):
        return _rnn_forward(net, form)
    rows = []
    for l, (layer, source) in enumerate(stage_layers(net), start=1):
        def below(index, l=l):   # z^(l-1), or the inputs x for the first stage
            return rf"z_{{{index}}}^{{({l - 1})}}" if l > 1 else rf"x_{{{index}}}"
        if isinstance(layer, Residual):
            rows.append(rf"z_j^{{({l})}} &= a_j^{{({l})}} = z_j^{{({source})}} + z_j^{{({l - 1})}} "
                        rf"\quad \text{{(skip: }} \mathbf{{z}}_{{\text{{out}}}} = \mathbf{{z}}_"
                        rf"{{\text{{in}}}} + F(\mathbf{{z}}_{{\text{{in}}}}),\ \mathbf{{z}}_"
                        rf"{{\text{{in}}}} = \mathbf{{z}}^{{({source})}})")
        elif isinstance(layer, Dense) and form == "entries":
            rows.append(rf"a_j^{{({l})}} &= \sum_i w_{{ji}}^{{({l})}} {below('i')} + "
                        rf"b_j^{{({l})}}, \qquad z_j^{{({l})}} = "
                        rf"h_{{{l}}}\bigl(a_j^{{({l})}}\bigr)")
        elif isinstance(layer, Dense):
            rows.append(rf"\mathbf{{a}}^{{({l})}} &= W^{{({l})}} \mathbf{{z}}^{{({l - 1})}} + "
                        rf"\mathbf{{b}}^{{({l})}}")
        elif isinstance(layer, Conv1D) and form == "entries":
            tap = below("c'," + _conv_source(layer, net, l))
            rows.append(rf"a_{{c,p}}^{{({l})}} &= \sum_{{c'}} \sum_{{m=1}}^{{{layer.kernel}}} "
                        rf"w_{{c,c',m}}^{{({l})}} {tap} + b_c^{{({l})}}" + (
                            r" \quad \text{($z = 0$ outside the input: padding ``same'')}"
                            if layer.padding == "same" else ""))
        elif isinstance(layer, Conv1D):
            rows.append(rf"\mathbf{{a}}_c^{{({l})}} &= \sum_{{c'}} \mathbf{{w}}_{{c,c'}}^{{({l})}} "
                        rf"\star \mathbf{{z}}_{{c'}}^{{({l - 1})}} + b_c^{{({l})}} \quad "
                        r"(\star\text{: correlation})")
        elif isinstance(layer, Conv2D):
            (kh, kw), tap = layer.kernel, below("c',i+m-1,j+n-1")
            rows.append(rf"a_{{c,i,j}}^{{({l})}} &= \sum_{{c'}} \sum_{{m=1}}^{{{kh}}} "
                        rf"\sum_{{n=1}}^{{{kw}}} w_{{c,c',m,n}}^{{({l})}} {tap} + b_c^{{({l})}}")
    rows.append(r"\mathbf{z}^{(0)} &= \mathbf{x}, \qquad \mathbf{y} = "
                rf"\mathbf{{z}}^{{({net.n_layers})}} \quad \text{{(values flattened row-major "
                r"where a layer reads them flat)}")
    return rows


def _rnn_forward(net, form):
    T = net.steps
    last = net.outputs_at == "last"
    if form == "matrix":
        return [r"\mathbf{a}^{(t)} &= W_{xh} \mathbf{x}^{(t)} + W_{hh} \mathbf{h}^{(t-1)} + "
                r"\mathbf{b}_h, \qquad \mathbf{h}^{(t)} = h\bigl(\mathbf{a}^{(t)}\bigr), \qquad "
                rf"\mathbf{{h}}^{{(0)}} = \mathbf{{0}}, \quad t = 1, \dots, {T}",
                r"\mathbf{a}^{(y,t)} &= W_{hy} \mathbf{h}^{(t)} + \mathbf{b}_y, \qquad "
                + (rf"\mathbf{{y}} = g\bigl(\mathbf{{a}}^{{(y,{T})}}\bigr)" if last else
                   r"\mathbf{y}^{(t)} = g\bigl(\mathbf{a}^{(y,t)}\bigr)")]
    return [r"a_j^{(t)} &= \sum_i w_{ji}^{(xh)} x_i^{(t)} + \sum_m w_{jm}^{(hh)} h_m^{(t-1)} + "
            r"b_j^{(h)}, \qquad h_j^{(t)} = h\bigl(a_j^{(t)}\bigr), \qquad h_m^{(0)} = 0, \quad "
            rf"t = 1, \dots, {T}",
            r"a_k^{(y,t)} &= \sum_j w_{kj}^{(hy)} h_j^{(t)} + b_k^{(y)}, \qquad "
            + (rf"y_k = g\bigl(a_k^{{(y,{T})}}\bigr)" if last else
               r"y_k^{(t)} = g\bigl(a_k^{(y,t)}\bigr)")]


def forward_rows(net, form="entries", max_entries=MAX_ENTRIES, **wrap):
    """The general equations, then (entries form) every unit's, in order."""
    rows = forward_general(net, form)
    if form == "matrix":
        return rows
    units = [wrap_row(tex(name), signed_terms(value), **wrap)
             for name, value in net.equations.items()]
    shown, hidden = take(units, max_entries)
    return rows + shown + ([omitted(hidden, "equations")] if hidden else [])


def derivative_rows(net):
    """h'(a) of each distinct activation, written in z = h(a) where it allows."""
    rows, seen = [], set()
    for l, stage in enumerate(net.stages, start=1):
        if not stage.act.elementwise or stage.act.name in seen:
            continue
        seen.add(stage.act.name)
        a, z = sp.Symbol("a", real=True), sp.Symbol("z", real=True)
        where = ", ".join(str(m) for m, s in enumerate(net.stages, start=1)
                          if s.act.name == stage.act.name)
        rows.append(rf"h'(a) &= {tex(derivative_in_value(stage.act, a, z))} \quad "
                    rf"\text{{({stage.act.name}, $z = h(a)$; stage{'s' * (',' in where)} "
                    rf"{where})}}")
    if any(not stage.act.elementwise for stage in net.stages):
        rows.append(r"\frac{\partial y_k}{\partial a_m} &= y_k (I_{km} - y_m) \quad "
                    r"\text{(softmax)}")
    return rows


# -- deltas ------------------------------------------------------------------------------------
def delta_general(derivation, form="entries"):
    """delta of the output units from the loss, then the backward rule of each kind of stage."""
    net = derivation.net
    start = derivation.loss.delta_latex if derivation.loss else r"\partial E_n / \partial a_k"
    if _is_rnn(net):
        return _bptt_rows(net, start, form, r"\delta", "E_n")
    rows = [rf"\delta_k^{{({net.n_layers})}} &= \frac{{\partial E_n}}{{\partial a_k^{{"
            rf"({net.n_layers})}}}} = {start}",
            r"\delta_j &= h'(a_j) \sum_c \frac{\partial a_c}{\partial z_j} \delta_c \quad "
            r"\text{(every unit $c$ that $z_j = h(a_j)$ feeds; Bishop, sec.~8.1)}"]
    return rows + _backward_rows(net, form, r"\delta_{{{}}}^{{({})}}")


def _backward_rows(net, form, adjoint, k="k"):
    """The backward rule per consumer stage; ``adjoint.format(indices, l)`` names an adjoint,
    ``k`` is the letter of the sum over the units above."""
    rows = []
    for l, (layer, source) in enumerate(stage_layers(net), start=1):
        below = l - 1
        if below < 1 and not isinstance(layer, Residual):
            continue
        if isinstance(layer, Dense):
            rows.append(rf"{adjoint.format('j', below)} &= h_{{{below}}}'\bigl(a_j^{{({below})}}"
                        rf"\bigr) \sum_{k} w_{{{k}j}}^{{({l})}} {adjoint.format(k, l)}")
        elif isinstance(layer, Conv1D):
            stride = "" if layer.stride == 1 else rf" \text{{ (stride {layer.stride}: the "\
                rf"$p$ with ${layer.stride}(p-1)+m = q$)}}"
            lhs = adjoint.format("c',q", below)
            rows.append(rf"{lhs} &= h_{{{below}}}'"
                        rf"\bigl(a_{{c',q}}^{{({below})}}\bigr) \sum_c \sum_{{m=1}}^{{"
                        rf"{layer.kernel}}} w_{{c,c',m}}^{{({l})}} {adjoint.format('c,q-m+1', l)}"
                        r" \quad \text{(the transposed correlation; 0 outside the positions)}"
                        + stride)
        elif isinstance(layer, Conv2D):
            lhs = adjoint.format("c',r,s", below)
            rows.append(rf"{lhs} &= h_{{{below}}}'"
                        rf"\bigl(a_{{c',r,s}}^{{({below})}}\bigr) \sum_c \sum_{{m,n}} "
                        rf"w_{{c,c',m,n}}^{{({l})}} {adjoint.format('c,r-m+1,s-n+1', l)}")
        elif isinstance(layer, Residual):
            identity = (rf"\frac{{\partial \mathbf{{z}}^{{({l})}}}}{{\partial \mathbf{{z}}^{{"
                        rf"({source})}}}} &= I + \frac{{\partial F}}{{\partial \mathbf{{z}}^{{"
                        rf"({source})}}}} \quad \text{{(the skip's identity term)}}")
            rows.append(identity)
            if source >= 1:
                rows.append(rf"{adjoint.format('j', source)} &= h_{{{source}}}'\bigl(a_j^{{"
                            rf"({source})}}\bigr) \Bigl({adjoint.format('j', l)} + \sum_c "
                            rf"\frac{{\partial a_c}}{{\partial z_j^{{({source})}}}} "
                            rf"{adjoint.format('c', '')}\Bigr) \quad \text{{($c$: the units "
                            rf"of $F$ that read $z_j^{{({source})}}$)}}".replace("^{()}", ""))
            rows.append(rf"{adjoint.format('j', l - 1)} &= h_{{{l - 1}}}'\bigl(a_j^{{({l - 1})}}"
                        rf"\bigr) \sum_c \frac{{\partial a_c}}{{\partial z_j^{{({l - 1})}}}} "
                        rf"{adjoint.format('c', '')} \quad \text{{with the skip's }} "
                        rf"\frac{{\partial a_j^{{({l})}}}}{{\partial z_j^{{({l - 1})}}}} = 1"
                        .replace("^{()}", ""))
    if form == "matrix":
        return [row for row in rows if "I +" in row]
    return rows


def _bptt_rows(net, start, form, symbol, numerator):
    """Backpropagation through time, in index and vector form (``symbol`` the adjoint)."""
    T = net.steps
    last = net.outputs_at == "last"
    seed_where = rf"\quad \text{{(only $t = {T}$: outputs at the last step)}}" if last else ""
    vector = (r"\boldsymbol{\delta}" if symbol == r"\delta" else r"\mathbf{g}_k")
    rows = [rf"{symbol}_k^{{(y,t)}} &= \frac{{\partial {numerator}}}{{\partial a_k^{{(y,t)}}}}"
            + (f" = {start}" if numerator == "E_n" else "") + seed_where,
            rf"{vector}^{{(t)}} &= h'\bigl(\mathbf{{a}}^{{(t)}}\bigr) \odot \Bigl(W_{{hh}}^\top "
            rf"{vector}^{{(t+1)}} + W_{{hy}}^\top {vector}^{{(y,t)}}\Bigr), \qquad "
            rf"{vector}^{{({T + 1})}} = \mathbf{{0}}, \quad t = {T}, \dots, 1 \quad "
            r"\text{(backpropagation through time)}"]
    if form == "entries":
        rows.append(rf"{symbol}_j^{{(t)}} &= h'\bigl(a_j^{{(t)}}\bigr) \Bigl(\sum_k "
                    rf"w_{{kj}}^{{(hh)}} {symbol}_k^{{(t+1)}} + \sum_k w_{{kj}}^{{(hy)}} "
                    rf"{symbol}_k^{{(y,t)}}\Bigr)")
    return rows


_SENSITIVITY = re.compile(r"^d[ya]_[^/]*/da_")   # dy_k/da_j^(l): not a tangent dy_k/dw_q


def _group(symbol):
    """Which section a named quantity is shown in: deltas, sensitivities, or the others."""
    if symbol.name.startswith("delta"):
        return "delta"
    return "sensitivity" if _SENSITIVITY.match(symbol.name) else "other"


def _definitions_of(derivation, group, max_entries, wrap):
    """``name &= definition`` of the named quantities of one ``_group``, bounded."""
    symbols = [s for s in derivation.definitions if _group(s) == group]
    rows = [wrap_row(tex(s), signed_terms(derivation.definitions[s]), **wrap) for s in symbols]
    shown, hidden = take(rows, max_entries)
    return shown + ([omitted(hidden, "definitions")] if hidden else [])


def delta_rows(derivation, form="entries", max_entries=MAX_ENTRIES, **wrap):
    """The delta recursion in general, then every delta of this network."""
    rows = delta_general(derivation, form)
    return rows if form == "matrix" else rows + _definitions_of(derivation, "delta",
                                                                 max_entries, wrap)


def sensitivity_general(net, form="entries"):
    """dy_k/da by the same backward rules, seeded by the output block dy_k/da_m^(L)."""
    if _is_rnn(net):
        return [r"\mathbf{g}_k^{(t)} &= \Bigl(\frac{\partial y_k}{\partial \mathbf{a}^{(t)}}"
                r"\Bigr)^{\!\top} = h'\bigl(\mathbf{a}^{(t)}\bigr) \odot \Bigl(W_{hh}^\top "
                r"\mathbf{g}_k^{(t+1)} + W_{hy}^\top \mathbf{g}_k^{(y,t)}\Bigr), \qquad "
                r"\mathbf{g}_k^{(y,t)} = \Bigl(\frac{\partial y_k}{\partial \mathbf{a}^{(y,t)}}"
                r"\Bigr)^{\!\top} \quad \text{(through time, as the deltas)}"]
    adjoint = r"\frac{{\partial y_k}}{{\partial a_{{{}}}^{{({})}}}}"
    rows = [rf"\frac{{\partial y_k}}{{\partial a_m^{{({net.n_layers})}}}} &= I_{{km}}\, "
            r"h_L'\bigl(a_m^{(L)}\bigr) \quad \text{(softmax: } y_k (I_{km} - y_m))"]
    return rows + _backward_rows(net, form, adjoint, k="m")


# -- entries ------------------------------------------------------------------------------------
def entries_general(derivation):
    """The rule of each block of parameters: a shared one is a sum over its uses."""
    net, kind = derivation.net, derivation.kind
    if kind == "input_jacobian":
        return [r"J_{ki} &= \frac{\partial y_k}{\partial x_i} = \sum_c \frac{\partial y_k}"
                r"{\partial a_c} \frac{\partial a_c}{\partial x_i} \quad \text{(the units $c$ "
                r"that read $x_i$)}"]
    if kind not in ("gradient", "param_jacobian"):
        return [rf"&\text{{{derivation.kind_info.title}: each named quantity differentiated "
                r"along the graph, the entries below}"]
    top = "E_n" if kind == "gradient" else "y_k"
    if kind == "gradient":
        adjoint = r"\delta_{{{}}}^{{({})}}".format
    else:
        adjoint = r"\frac{{\partial y_k}}{{\partial a_{{{}}}^{{({})}}}}".format
    if _is_rnn(net):
        return _rnn_entries(net, top, adjoint)
    rows = []
    for l, (layer, _) in enumerate(stage_layers(net), start=1):
        def value(index, l=l):   # z_i^(l-1), or x_i for the first stage
            return rf"z_{{{index}}}^{{({l - 1})}}" if l > 1 else rf"x_{{{index}}}"
        if isinstance(layer, Dense):
            rows.append(rf"\frac{{\partial {top}}}{{\partial w_{{ji}}^{{({l})}}}} &= "
                        rf"{adjoint('j', l)} {value('i')}, \qquad \frac{{\partial {top}}}"
                        rf"{{\partial b_j^{{({l})}}}} = {adjoint('j', l)}")
        elif isinstance(layer, Conv1D):
            P, source = _positions(net, l), value("c'," + _conv_source(layer, net, l))
            rows.append(rf"\frac{{\partial {top}}}{{\partial w_{{c,c',m}}^{{({l})}}}} &= "
                        rf"\sum_{{p=1}}^{{{P}}} {adjoint('c,p', l)} {source}, \qquad "
                        rf"\frac{{\partial {top}}}{{\partial b_c^{{({l})}}}} = "
                        rf"\sum_{{p=1}}^{{{P}}} {adjoint('c,p', l)} \quad \text{{(weight "
                        rf"sharing: one kernel at all {P} positions)}}")
        elif isinstance(layer, Conv2D):
            _, rows_out, columns_out = _conv2d_out(net, l, layer)
            source = value("c',i+m-1,j+n-1")
            rows.append(rf"\frac{{\partial {top}}}{{\partial w_{{c,c',m,n}}^{{({l})}}}} &= "
                        rf"\sum_{{i=1}}^{{{rows_out}}} \sum_{{j=1}}^{{{columns_out}}} "
                        rf"{adjoint('c,i,j', l)} {source}, \qquad "
                        rf"\frac{{\partial {top}}}{{\partial b_c^{{({l})}}}} = \sum_{{i,j}} "
                        rf"{adjoint('c,i,j', l)}")
    return rows


def _conv2d_out(net, l, layer):
    """(C_out, H', W') of the 2-D convolution of stage l: its last unit is a_{C,H',W'}."""
    name = net.stages[l - 1].pre[-1].name            # e.g. a_2,3,4^(1)
    channels, rows, columns = name.split("_", 1)[1].split("^")[0].split(",")
    return int(channels), int(rows), int(columns)


def _rnn_entries(net, top, adjoint):
    T = net.steps
    o = "k" if top == "E_n" else "m"   # the output unit of W_hy's row (k is y_k's)
    times = rf"t=1}}^{{{T}}}" if net.outputs_at == "all" else None
    output = (rf"\sum_{{{times} {adjoint(o, 'y,t')} h_j^{{(t)}}" if times else
              rf"{adjoint(o, f'y,{T}')} h_j^{{({T})}}")
    vector = r"\boldsymbol{\delta}" if top == "E_n" else r"\mathbf{g}_k"
    return [
        rf"\frac{{\partial {top}}}{{\partial w_{{jm}}^{{(hh)}}}} &= \sum_{{t=2}}^{{{T}}} "
        rf"{adjoint('j', 't')} h_m^{{(t-1)}}, \qquad \frac{{\partial {top}}}{{\partial W_{{hh}}}} "
        rf"= \sum_{{t=2}}^{{{T}}} {vector}^{{(t)}} \mathbf{{h}}^{{(t-1)\top}} \quad "
        r"\text{(one $W_{hh}$ at every step: the sum over time)}",
        rf"\frac{{\partial {top}}}{{\partial w_{{ji}}^{{(xh)}}}} &= \sum_{{t=1}}^{{{T}}} "
        rf"{adjoint('j', 't')} x_i^{{(t)}}, \qquad \frac{{\partial {top}}}{{\partial b_j^{{(h)}}}}"
        rf" = \sum_{{t=1}}^{{{T}}} {adjoint('j', 't')}",
        rf"\frac{{\partial {top}}}{{\partial w_{{{o}j}}^{{(hy)}}}} &= {output}, \qquad "
        rf"\frac{{\partial {top}}}{{\partial b_{o}^{{(y)}}}} = "
        + (rf"\sum_{{{times} {adjoint(o, 'y,t')}" if times else adjoint(o, f"y,{T}"))]


def _entries(derivation, form, expanded, max_entries, tags, wrap):
    rows = entries_general(derivation)
    if form == "matrix":
        return [row for row in rows if r"\boldsymbol" in row or "W_{" in row or "I +" in row] \
            or rows
    return rows + entry_rows(derivation, expanded, max_entries, tags, **wrap)


# -- assembling -------------------------------------------------------------------------------
def layered_sections(derivation, form="entries", expanded=False, max_entries=MAX_ENTRIES,
                     wrap=None, n_samples=None, tags=False):
    """[(title, rows)] of a Network's or RNN's derivation (``derivation_sections`` calls it)."""
    wrap = wrap or {}
    net, info = derivation.net, derivation.kind_info
    sections = [("Forward pass", forward_rows(net, form, max_entries, **wrap)),
                ("Activation derivatives", derivative_rows(net))]
    groups = {_group(s) for s in derivation.definitions}
    for name in info.sections:
        if name == "deltas":
            title = "Deltas (backpropagation through time)" if _is_rnn(net) else "Deltas"
            sections.append((title, delta_rows(derivation, form, max_entries, **wrap)))
        elif name == "sensitivities" and "sensitivity" in groups:
            rows = sensitivity_general(net, form)
            if form == "entries":
                rows = rows + _definitions_of(derivation, "sensitivity", max_entries, wrap)
            sections.append(("Output sensitivities", rows))
        elif name == "entries":
            if "other" in groups and form == "entries":
                sections.append(("Named derivatives", _definitions_of(
                    derivation, "other", max_entries, wrap)))
            sections.append((info.title, _entries(derivation, form, expanded, max_entries,
                                                  tags, wrap)))
        elif name == "levenberg_marquardt":
            sections.append(("Levenberg-Marquardt layout", lm_rows(derivation, n_samples)))
    decay = derivation.loss.decay_latex(derivation.kind) if derivation.loss else []
    if decay:
        sections.append(("Weight decay", decay))
    return sections


# -- the document's sections, as data: (heading, text, rows, [(name, value)]) -----------------
def _delta_values(net, grad, X, w, T):
    deltas = list(grad.intermediates["delta"].values())
    coordinates = list(net.inputs) + list(net.params) + list(net.targets)
    values = compile_straight_line(net, grad.definitions, deltas)(
        dict(zip(coordinates, list(X.T) + list(w) + list(T.T))), 1)
    return [(tex(d), float(v[0])) for d, v in zip(deltas, values)]


def document_sections(net, loss, X, w, T, max_entries, n_samples):
    """The sections of ``symnet.latex_document`` for a Network or RNN, with spot values.

    Each is (heading, text, blocks, values): ``blocks`` are lists of rows, each set as one
    display (rows of different widths apart), and ``values`` pairs a LaTeX name with its
    number at the point, computed by the derivation's ``evaluate`` (the deltas by the
    named form).
    """
    from ..derive.first_order import gradient, input_jacobian, param_jacobian
    from ..derive.second_order import hessian
    wrap = {"max_entries": max_entries}
    A, Z = net.forward_layers(X, w)
    forward_values = [(tex(s), float(v)) for l in range(1, net.n_layers + 1)
                      for symbols, values in ((net.layer_pre_activations(l), A[l][0]),
                                              (net.layer_values(l), Z[l][0]))
                      for s, v in zip(symbols, values)]
    grad = gradient(net, loss)
    g = grad.evaluate(X, w, T)
    jin, jpar = input_jacobian(net), param_jacobian(net)
    J, B = jin.evaluate(X, w)[0], jpar.evaluate(X, w)[0]
    outputs = [tex(y) for y in net.layer_values(net.n_layers)]
    sections = [
        ("Forward pass", "Every unit's equation, in order.",
         [forward_rows(net, "entries", max_entries)], forward_values),
        ("Deltas", r"$\delta = \partial E_n / \partial a$ of every unit, computed backwards "
         r"from the outputs" + (" through time." if _is_rnn(net) else "."),
         [delta_rows(grad, "entries", **wrap)], _delta_values(net, grad, X, w, T)),
        ("Gradient", "A parameter used by several units (a kernel entry at every position, an "
         "RNN matrix at every step) gets the sum over those units.",
         [entries_general(grad), entry_rows(grad, tags=True, **wrap)]
         + [loss.decay_latex("gradient")] * bool(loss.weight_decay),
         [(rf"\frac{{\partial E}}{{\partial {tex(p)}}}", v) for p, v in zip(net.params, g)]),
        ("Input Jacobian", r"$J_{ki} = \partial y_k / \partial x_i$ by backpropagating "
         r"$\partial y_k / \partial a$.",
         [sensitivity_general(net), _definitions_of(jin, "sensitivity", max_entries, {}),
          entries_general(jin), entry_rows(jin, tags=True, **wrap)],
         [(rf"\frac{{\partial {outputs[k]}}}{{\partial {tex(x)}}}", J[k, i])
          for k in range(J.shape[0]) for i, x in enumerate(net.inputs)]),
        ("Parameter Jacobian (Levenberg-Marquardt)", "The same sums as the gradient, with "
         r"$\partial y_k / \partial a$ in place of $\delta$.",
         [lm_rows(jpar, n_samples), entries_general(jpar), entry_rows(jpar, tags=True, **wrap)],
         [(rf"\frac{{\partial {outputs[k]}}}{{\partial {tex(p)}}}", B[k, c])
          for k in range(B.shape[0]) for c, p in enumerate(net.params)]),
    ]
    if net.n_params <= HESSIAN_LIMIT:
        H = hessian(net, loss)
        values = H.evaluate(X, w, T)
        sections.append((
            "Hessian", r"The gradient's named form differentiated along each $w_q$ (forward "
            r"mode over the same definitions, each tangent named $\partial(\cdot)/\partial w_q$);"
            r" the upper triangle ($H$ is symmetric).",
            [_definitions_of(H, "other", max_entries, {}), entry_rows(H, tags=True, **wrap)]
            + [loss.decay_latex("hessian")] * bool(loss.weight_decay),
            [(rf"\frac{{\partial^2 E}}{{\partial {tex(net.params[p])}\, \partial "
              rf"{tex(net.params[q])}}}", values[p, q])
             for q in range(net.n_params) for p in range(q + 1)]))
    else:
        sections.append(("Hessian", rf"With $W = {net.n_params}$ the document leaves the "
                         r"Hessian out; \texttt{symnet.hessian(net, loss)} derives it.", [], []))
    return sections


HESSIAN_LIMIT = 24   # W up to which the document derives and shows the exact Hessian
