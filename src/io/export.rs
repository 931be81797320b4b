//! `pdenet export`: a trained model's networks as an .npz that NumPy and PyTorch
//! read. Each tensor is an array in its own shape (a matrix outputs × inputs); the
//! member `description.json` says how the networks compute: the inputs' rescaling to
//! [−1, 1], and every layer's body and `where` values as expression trees over the
//! layer's input and tensors, so that any layer kind, written in the language,
//! rebuilds outside pdenet (examples/python/pdenet_model.py).
//!
//! A tree is a JSON list: `["input"]`, `["tensor", i]`, `["local", i]`, `["num", c]`,
//! `["edge_input"]`, `["matvec", i, x]`, `["edges", x]`, `["skip", x]`,
//! `["shift", x, by, periodic]`, `["add"|"sub"|"mul"|"div", x, y]`, `["neg", x]`,
//! `["powi", x, n]`, `["call", "tanh", x]`; the semantics are `problem::LayerExpr`'s.

use super::npz;
use crate::net::{tensor_len, Layout};
use crate::problem::{Layer, LayerExpr, Problem, TensorShape};
use serde_json::{json, Value};

/// The .npz of `problem`'s networks at θ.
pub fn export(problem: &Problem, theta: &[f64]) -> zip::result::ZipResult<Vec<u8>> {
    let layout = Layout::of(problem);
    let mut w = npz::Writer::new();
    let mut networks = Vec::new();
    for (n, net) in problem.networks.iter().enumerate() {
        let mut layers = Vec::new();
        for (l, layer) in net.layers.iter().enumerate() {
            let mut tensors = Vec::new();
            for (i, t) in layer.tensors.iter().enumerate() {
                let at = layout.tensors[n][l][i];
                let values = &theta[at..at + tensor_len(layer, i)];
                // The index keeps names apart that spell alike in ASCII (K[1], K[-1]).
                let name = super::ascii_name(&t.name);
                let array = format!("net{n}.layer{}.{i}.{name}", l + 1);
                let shape = match t.shape {
                    TensorShape::Matrix => {
                        w.matrix(&array, layer.outputs, layer.inputs, values)?;
                        vec![layer.outputs, layer.inputs]
                    }
                    TensorShape::Vector | TensorShape::Scalar => {
                        w.vector(&array, values)?;
                        vec![values.len()]
                    }
                };
                tensors.push(json!({
                    "name": t.name,
                    "array": array,
                    "shape": shape,
                    "fixed": t.fixed,
                }));
            }
            layers.push(layer_json(layer, tensors));
        }
        let inputs: Vec<Value> = (net.inputs.iter())
            .map(|c| {
                let coord = &problem.coords[c.0];
                json!({ "name": coord.name, "lo": coord.lo, "hi": coord.hi })
            })
            .collect();
        networks.push(json!({
            "kind": net.kind,
            "inputs": inputs,
            "outputs": net.outputs,
            "layers": layers,
        }));
    }
    let params: serde_json::Map<String, Value> = (problem.params.iter().enumerate())
        .map(|(k, p)| (p.name.clone(), json!(p.value(theta[layout.params[k]]))))
        .collect();
    let description = json!({
        "format": "pdenet-export/1",
        "problem": problem.name,
        "rescale": "each input x becomes (x - lo) * (2 / (hi - lo)) - 1 before the first layer",
        "networks": networks,
        "parameters": params,
    });
    w.member(
        "description.json",
        serde_json::to_string_pretty(&description)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    w.finish()
}

fn layer_json(layer: &Layer, tensors: Vec<Value>) -> Value {
    json!({
        "kind": layer.kind,
        "inputs": layer.inputs,
        "outputs": layer.outputs,
        "tensors": tensors,
        "locals": layer.locals.iter().map(tree).collect::<Vec<_>>(),
        "body": tree(&layer.body),
    })
}

/// A layer expression as a JSON tree (the module comment lists the nodes).
fn tree(e: &LayerExpr) -> Value {
    let b = |x: &LayerExpr| tree(x);
    match e {
        LayerExpr::Input => json!(["input"]),
        LayerExpr::Tensor(i) => json!(["tensor", i]),
        LayerExpr::Local(i) => json!(["local", i]),
        LayerExpr::Num(c) => json!(["num", c]),
        LayerExpr::EdgeInput => json!(["edge_input"]),
        LayerExpr::MatVec(i, x) => json!(["matvec", i, b(x)]),
        LayerExpr::Edges(x) => json!(["edges", b(x)]),
        LayerExpr::Skip(x) => json!(["skip", b(x)]),
        LayerExpr::Shift { x, by, periodic } => json!(["shift", b(x), by, periodic]),
        LayerExpr::Add(x, y) => json!(["add", b(x), b(y)]),
        LayerExpr::Sub(x, y) => json!(["sub", b(x), b(y)]),
        LayerExpr::Mul(x, y) => json!(["mul", b(x), b(y)]),
        LayerExpr::Div(x, y) => json!(["div", b(x), b(y)]),
        LayerExpr::Neg(x) => json!(["neg", b(x)]),
        LayerExpr::Powi(x, n) => json!(["powi", b(x), n]),
        LayerExpr::Call(f, x) => json!(["call", f.name(), b(x)]),
    }
}
