//! A list parameter whose elements are the nodes of a dataflow graph over named streams
//! (an event pipeline's stages): every input is a source or some node's output, every
//! source is read, no source is written inside the graph, and the nodes form no cycle.
//! Checked after each parameter on its own, since the sources are another parameter.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::list::problem;
use super::{ParamDef, ParamKind, ParamProblem};
use crate::source::Seg;

/// The elements of a list of mappings are the nodes of a dataflow graph: each reads the
/// named streams of `inputs` and writes those of `outputs`; `sources` names another
/// parameter (a list of strings) holding the streams fed from outside.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graph {
    /// The key naming a node (unique).
    pub node: String,
    pub inputs: String,
    pub outputs: String,
    pub sources: String,
}

/// A problem of a dataflow graph: the parameter it is in and where inside its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphProblem {
    pub param: String,
    pub problem: ParamProblem,
}

/// Checks every list parameter of `defs` that declares a `graph`, with the values
/// `value_of` gives (a component's own, or an environment's laid over them): every input
/// is a source or some node's output, every source is read, and the nodes form no cycle.
pub fn graph_problems<'a>(
    defs: &'a [ParamDef],
    value_of: impl Fn(&str) -> Option<&'a Value>,
) -> Vec<GraphProblem> {
    let mut out = Vec::new();
    for def in defs {
        let ParamKind::List {
            graph: Some(graph), ..
        } = &def.kind
        else {
            continue;
        };
        let (Some(nodes), Some(sources)) = (
            value_of(&def.name).and_then(Value::as_array),
            value_of(&graph.sources).and_then(Value::as_array),
        ) else {
            continue;
        };
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let name_of = |i: usize| {
            nodes[i]
                .get(&graph.node)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let sources: Vec<String> = sources
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let inputs: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| strings(n.get(&graph.inputs)))
            .collect();
        let outputs: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| strings(n.get(&graph.outputs)))
            .collect();
        let mut writers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, outs) in outputs.iter().enumerate() {
            for s in outs {
                writers.entry(s.as_str()).or_default().push(i);
            }
        }
        let mut found = |param: &str, p: ParamProblem| {
            out.push(GraphProblem {
                param: param.to_string(),
                problem: p,
            })
        };
        let mut bad_inputs = false;
        for (i, ins) in inputs.iter().enumerate() {
            for (j, s) in ins.iter().enumerate() {
                if writers.contains_key(s.as_str()) || sources.contains(s) {
                    continue;
                }
                bad_inputs = true;
                let known = sources
                    .iter()
                    .map(String::as_str)
                    .chain(writers.keys().copied());
                let help = crate::names::did_you_mean(s, known).or_else(|| {
                    Some(format!(
                        "add `{s}` to `{}`, or to the `{}` of a stage",
                        graph.sources, graph.outputs
                    ))
                });
                found(
                    &def.name,
                    problem(
                        vec![Seg::Index(i), Seg::Key(graph.inputs.clone()), Seg::Index(j)],
                        format!(
                            "`{}` reads `{s}`, which is neither in `{}` nor written by any element of `{}`",
                            name_of(i),
                            graph.sources,
                            def.name
                        ),
                        "nothing writes this",
                        help,
                    ),
                );
            }
        }
        for (k, s) in sources.iter().enumerate() {
            if let Some(&w) = writers.get(s.as_str()).and_then(|w| w.first()) {
                found(
                    &graph.sources,
                    problem(
                        vec![Seg::Index(k)],
                        format!("source `{s}` is also written by `{}`", name_of(w)),
                        "written inside the graph",
                        Some(
                            "a source is fed from outside only; give the output another name"
                                .into(),
                        ),
                    ),
                );
            } else if !inputs.iter().any(|ins| ins.contains(s)) {
                found(
                    &graph.sources,
                    problem(
                        vec![Seg::Index(k)],
                        format!("source `{s}` is read by no element of `{}`", def.name),
                        "never read",
                        Some(format!(
                            "add `{s}` to the `{}` of a stage, or remove it",
                            graph.inputs
                        )),
                    ),
                );
            }
        }
        if bad_inputs {
            continue;
        }
        if let Some(cycle) = find_cycle(&inputs, &writers) {
            let names: Vec<String> = cycle.iter().map(|&i| name_of(i)).collect();
            let last = *cycle.last().expect("a cycle has a node");
            found(
                &def.name,
                problem(
                    vec![Seg::Index(last), Seg::Key(graph.inputs.clone())],
                    format!(
                        "the elements of `{}` form a cycle: {} → {}",
                        def.name,
                        names.join(" → "),
                        names[0]
                    ),
                    "closes a cycle",
                    Some(
                        "messages would circle for ever; break the loop by renaming one stream"
                            .into(),
                    ),
                ),
            );
        }
    }
    out
}

/// A cycle of nodes (each feeding the next), found by depth-first search in input order,
/// so the same graph always reports the same cycle.
fn find_cycle(inputs: &[Vec<String>], writers: &BTreeMap<&str, Vec<usize>>) -> Option<Vec<usize>> {
    // successors: node i feeds node j when i writes a stream j reads.
    let n = inputs.len();
    let mut next: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (j, ins) in inputs.iter().enumerate() {
        for s in ins {
            for &i in writers.get(s.as_str()).into_iter().flatten() {
                next[i].insert(j);
            }
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // An explicit stack of (node, its successors still to visit) keeps deep graphs
        // off the call stack.
        let mut path: Vec<usize> = vec![start];
        let mut todo: Vec<Vec<usize>> = vec![next[start].iter().rev().copied().collect()];
        mark[start] = Mark::OnPath;
        while let Some(rest) = todo.last_mut() {
            match rest.pop() {
                Some(j) if mark[j] == Mark::OnPath => {
                    let from = path.iter().position(|&p| p == j).expect("on the path");
                    return Some(path[from..].to_vec());
                }
                Some(j) if mark[j] == Mark::New => {
                    mark[j] = Mark::OnPath;
                    path.push(j);
                    todo.push(next[j].iter().rev().copied().collect());
                }
                Some(_) => {}
                None => {
                    let done = path.pop().expect("path and todo have one entry per node");
                    mark[done] = Mark::Done;
                    todo.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::list::tests::defs;
    use serde_json::json;

    fn graph(stages: Value, sources: Value) -> Vec<GraphProblem> {
        let defs = defs();
        let values = BTreeMap::from([("stages", stages), ("sources", sources)]);
        graph_problems(&defs, |name| values.get(name))
            .into_iter()
            .collect()
    }

    #[test]
    fn an_input_nobody_writes_is_named_with_the_closest_stream() {
        let problems = graph(
            json!([
                {"name": "a", "inputs": ["items"], "outputs": ["small"]},
                {"name": "b", "inputs": ["smal"], "outputs": ["done"]}
            ]),
            json!(["items"]),
        );
        assert_eq!(problems.len(), 1);
        let p = &problems[0].problem;
        assert_eq!(
            p.at,
            vec![Seg::Index(1), Seg::Key("inputs".into()), Seg::Index(0)]
        );
        assert_eq!(p.help.as_deref(), Some("did you mean `small`?"));
    }

    #[test]
    fn a_source_nobody_reads_or_a_stage_writes_is_refused() {
        let problems = graph(
            json!([{"name": "a", "inputs": ["items"], "outputs": ["extra"]}]),
            json!(["items", "unread", "extra"]),
        );
        let messages: Vec<&str> = problems
            .iter()
            .map(|p| p.problem.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "source `unread` is read by no element of `stages`",
                "source `extra` is also written by `a`"
            ]
        );
    }

    #[test]
    fn a_cycle_is_named_in_order_and_placed_at_the_stage_closing_it() {
        let problems = graph(
            json!([
                {"name": "in", "inputs": ["items"], "outputs": ["a"]},
                {"name": "x", "inputs": ["a", "c"], "outputs": ["b"]},
                {"name": "y", "inputs": ["b"], "outputs": ["c", "out"]}
            ]),
            json!(["items"]),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].problem.message,
            "the elements of `stages` form a cycle: x → y → x"
        );
        assert_eq!(
            problems[0].problem.at,
            vec![Seg::Index(2), Seg::Key("inputs".into())]
        );
    }

    #[test]
    fn a_pipeline_without_a_cycle_passes_whatever_its_order() {
        let problems = graph(
            json!([
                {"name": "join", "inputs": ["kept", "large"], "outputs": ["done"]},
                {"name": "keep", "inputs": ["small"], "outputs": ["kept"]},
                {"name": "split", "inputs": ["items"], "outputs": ["small", "large"]}
            ]),
            json!(["items"]),
        );
        assert_eq!(problems, Vec::new());
    }
}
