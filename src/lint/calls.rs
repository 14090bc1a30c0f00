//! Retries and timeouts along the call graph (the spec's `calls`, `decorates`, `next`):
//! DDS101 multiplies the attempts of every caller along the worst path, DDS102 requires a
//! caller to wait longer for an attempt than its callee may spend on its own calls, DDS103
//! notes callers whose client dpatterns did not generate.
//!
//! A generated caller calls through `common::Client`: exponential backoff with jitter, a
//! retry budget (retries at most 20% of calls plus one a second), a circuit breaker, and
//! the `UPSTREAM_*` settings its pattern renders from `callAttempts`,
//! `callAttemptTimeoutMs` and `callDeadlineMs`. The budget bounds retries once it has
//! filled; the attempts multiply before it has, and the budget is per replica.

use std::collections::HashSet;

use crate::model::Component;
use crate::params::ParamKind;

use super::rules::rule;
use super::{Context, Finding};

/// A path whose attempts multiply to this many calls of its last component is reported.
pub const AMPLIFICATION_LIMIT: u64 = 10;

/// `common::ClientPolicy::default()`: what a generated caller uses when its pattern has no
/// parameter for it (the policy's template holds the same numbers; a test compares).
pub const CLIENT_ATTEMPTS: i64 = 3;
pub const CLIENT_ATTEMPT_TIMEOUT_MS: i64 = 2000;
pub const CLIENT_DEADLINE_MS: i64 = 5000;

/// Patterns whose calls are never retried: a function POSTs its events, and the client
/// retries only idempotent methods.
const NEVER_RETRIED: &[&str] = &["function"];

/// How a generated caller calls.
#[derive(Debug, Clone, Copy)]
struct Policy {
    attempts: u64,
    attempt_timeout_ms: i64,
    deadline_ms: i64,
}

/// A call from a component: the parameter that makes it and the callee.
#[derive(Debug, Clone)]
struct Edge<'a> {
    param: &'a str,
    to: usize,
}

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let components = &cx.system.components;
    let edges: Vec<Vec<Edge<'_>>> = components.iter().map(|c| edges(cx, c)).collect();
    let policies: Vec<Option<Policy>> = components.iter().map(|c| policy(cx, c)).collect();
    amplification(cx, &edges, &policies, out);
    timeouts(cx, &edges, &policies, out);
    unknown_clients(cx, &edges, out);
}

/// The calls a component makes through its own parameters, in the order of its pattern's
/// parameters.
fn edges<'a>(cx: &'a Context<'_>, c: &'a Component) -> Vec<Edge<'a>> {
    let Some(pattern) = cx.catalog.pattern(&c.pattern) else {
        return Vec::new();
    };
    pattern
        .params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::Component { .. }))
        .filter_map(|p| {
            let target = c.params.get(&p.name)?.as_str()?;
            let to = *cx.system.by_name.get(target)?;
            Some(Edge {
                param: p.name.as_str(),
                to,
            })
        })
        .collect()
}

fn policy(cx: &Context<'_>, c: &Component) -> Option<Policy> {
    if !c.generated {
        return None;
    }
    let attempts = if NEVER_RETRIED.contains(&c.pattern.as_str()) {
        1
    } else {
        cx.int(c, "callAttempts").unwrap_or(CLIENT_ATTEMPTS)
    };
    Some(Policy {
        attempts: u64::try_from(attempts.max(1)).unwrap_or(1),
        attempt_timeout_ms: cx
            .int(c, "callAttemptTimeoutMs")
            .unwrap_or(CLIENT_ATTEMPT_TIMEOUT_MS),
        deadline_ms: cx.int(c, "callDeadlineMs").unwrap_or(CLIENT_DEADLINE_MS),
    })
}

/// The worst path from each component: the product of the attempts of its callers and
/// the next component on it. A caller whose client is unknown counts 1 (DDS103 notes it);
/// a call back into the path ends it (a function loop is cut by its hop limit).
fn worst_paths(edges: &[Vec<Edge<'_>>], policies: &[Option<Policy>]) -> Vec<(u64, Option<usize>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let n = edges.len();
    let mut state = vec![State::New; n];
    let mut best: Vec<(u64, Option<usize>)> = vec![(1, None); n];
    // An explicit stack: a chain of thousands of components must not overflow the thread's.
    for start in 0..n {
        if state[start] != State::New {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        state[start] = State::Open;
        while let Some(top) = stack.last_mut() {
            let node = top.0;
            if let Some(edge) = edges[node].get(top.1) {
                top.1 += 1;
                if state[edge.to] == State::New {
                    state[edge.to] = State::Open;
                    stack.push((edge.to, 0));
                }
                continue;
            }
            let attempts = policies[node].map_or(1, |p| p.attempts);
            let mut worst = (1, None);
            for edge in &edges[node] {
                // A callee still open is a call back into the path: it ends there.
                let below = if state[edge.to] == State::Done {
                    best[edge.to].0
                } else {
                    1
                };
                let factor = attempts.saturating_mul(below);
                if worst.1.is_none() || factor > worst.0 {
                    worst = (factor, Some(edge.to));
                }
            }
            best[node] = worst;
            state[node] = State::Done;
            stack.pop();
        }
    }
    best
}

fn amplification(
    cx: &Context<'_>,
    edges: &[Vec<Edge<'_>>],
    policies: &[Option<Policy>],
    out: &mut Vec<Finding>,
) {
    let components = &cx.system.components;
    let best = worst_paths(edges, policies);
    for (start, c) in components.iter().enumerate() {
        // A path is reported once, from where requests enter it.
        if !c.used_by.is_empty() || best[start].0 < AMPLIFICATION_LIMIT {
            continue;
        }
        let mut path = vec![start];
        let mut seen = HashSet::from([start]);
        while let Some(next) = best[*path.last().expect("not empty")].1 {
            if !seen.insert(next) {
                break;
            }
            path.push(next);
        }
        let callers = &path[..path.len() - 1];
        let attempts: Vec<String> = callers
            .iter()
            .map(|&i| policies[i].map_or(1, |p| p.attempts).to_string())
            .collect();
        let names: Vec<String> = path
            .iter()
            .map(|&i| format!("`{}`", components[i].name))
            .collect();
        let last = &components[*path.last().expect("not empty")].name;
        // Retry at one layer: the first caller that retries keeps its attempts.
        let retriers: Vec<&str> = callers
            .iter()
            .filter(|&&i| policies[i].is_some_and(|p| p.attempts > 1))
            .map(|&i| components[i].name.as_str())
            .collect();
        let fix = match retriers.split_first() {
            Some((keep, inner)) if !inner.is_empty() => format!(
                "retry at one layer: set `callAttempts: 1` on {}, so only `{keep}` retries",
                inner
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Some((keep, _)) => format!(
                "lower `callAttempts` of `{keep}` so the product stays below {AMPLIFICATION_LIMIT}"
            ),
            None => format!("lower the attempts along the path below {AMPLIFICATION_LIMIT}"),
        };
        let first = &edges[start][0];
        let param = edges[start]
            .iter()
            .find(|e| Some(e.to) == path.get(1).copied())
            .unwrap_or(first)
            .param;
        let at = if cx.written(c, "callAttempts") {
            cx.at_param(c, "callAttempts")
        } else {
            cx.at_param(c, param)
        };
        out.push(Finding {
            rule: rule("DDS101").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "retries multiply along {}: one request to `{}` may reach `{last}` {} times ({} attempts)",
                names.join(" → "),
                c.name,
                best[start].0,
                attempts.join(" × ")
            ),
            label: format!("{}× at `{last}`", best[start].0),
            fix,
            path: at,
        });
    }
}

fn timeouts(
    cx: &Context<'_>,
    edges: &[Vec<Edge<'_>>],
    policies: &[Option<Policy>],
    out: &mut Vec<Finding>,
) {
    let components = &cx.system.components;
    for (from, c) in components.iter().enumerate() {
        let Some(caller) = policies[from] else {
            continue;
        };
        for edge in &edges[from] {
            let callee = &components[edge.to];
            let (Some(inner), Some(onward)) = (policies[edge.to], edges[edge.to].first()) else {
                continue;
            };
            if caller.attempt_timeout_ms > inner.deadline_ms {
                continue;
            }
            let onward = &components[onward.to].name;
            let at = if cx.written(c, "callAttemptTimeoutMs") {
                cx.at_param(c, "callAttemptTimeoutMs")
            } else {
                cx.at_param(c, edge.param)
            };
            let mut fix = format!(
                "make timeouts shrink from caller to callee: `callDeadlineMs` of `{}` below {} ms",
                callee.name, caller.attempt_timeout_ms
            );
            if cx.declares(c, "callAttemptTimeoutMs") {
                fix.push_str(&format!(
                    ", or `callAttemptTimeoutMs` of `{}` above {} ms",
                    c.name, inner.deadline_ms
                ));
            }
            out.push(Finding {
                rule: rule("DDS102").expect("a rule"),
                component: Some(c.name.clone()),
                message: format!(
                    "`{}` gives up on an attempt to call `{}` after {} ms, but `{}` may spend {} ms on its own call to `{onward}`: it goes on working for a caller that has left",
                    c.name, callee.name, caller.attempt_timeout_ms, callee.name, inner.deadline_ms
                ),
                label: format!("{} ms ≤ {} ms", caller.attempt_timeout_ms, inner.deadline_ms),
                fix,
                path: at,
            });
        }
    }
}

fn unknown_clients(cx: &Context<'_>, edges: &[Vec<Edge<'_>>], out: &mut Vec<Finding>) {
    for (from, c) in cx.system.components.iter().enumerate() {
        if c.generated {
            continue;
        }
        let Some(edge) = edges[from].first() else {
            continue;
        };
        let callee = &cx.system.components[edge.to].name;
        out.push(Finding {
            rule: rule("DDS103").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "`{}` runs the image `{}` and calls `{callee}`: dpatterns cannot tell whether its retries back off with jitter and stay within a retry budget",
                c.name, c.image
            ),
            label: "a client dpatterns did not generate".into(),
            fix: format!(
                "give its client exponential backoff with jitter and a retry budget (as the generated `common::Client` has), then silence DDS103 for `{}` saying so",
                c.name
            ),
            path: cx.at_param(c, edge.param),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers above are `common::ClientPolicy::default()`; when the template changes
    /// them, this fails until they agree again.
    #[test]
    fn the_client_defaults_are_those_of_the_generated_policy() {
        let policy = include_str!(
            "../../templates/_common/project/services/common/src/client/policy.rs.hbs"
        );
        for line in [
            format!(
                "attempt_timeout: Duration::from_secs({}),",
                CLIENT_ATTEMPT_TIMEOUT_MS / 1000
            ),
            format!(
                "deadline: Duration::from_secs({}),",
                CLIENT_DEADLINE_MS / 1000
            ),
            format!("max_attempts: {CLIENT_ATTEMPTS},"),
        ] {
            assert!(policy.contains(&line), "the policy lacks `{line}`");
        }
    }

    #[test]
    fn the_caller_patterns_default_to_the_client_defaults() {
        let catalog = crate::Catalog::load(None).expect("the embedded catalog loads");
        for (pattern, param, value) in [
            ("replicated-service", "callAttempts", CLIENT_ATTEMPTS),
            (
                "replicated-service",
                "callAttemptTimeoutMs",
                CLIENT_ATTEMPT_TIMEOUT_MS,
            ),
            ("replicated-service", "callDeadlineMs", CLIENT_DEADLINE_MS),
            (
                "function",
                "callAttemptTimeoutMs",
                CLIENT_ATTEMPT_TIMEOUT_MS,
            ),
            ("function", "callDeadlineMs", CLIENT_DEADLINE_MS),
        ] {
            let def = catalog.pattern(pattern).and_then(|p| p.param(param));
            let default = def
                .and_then(|d| d.default.as_ref())
                .and_then(|v| v.as_i64());
            assert_eq!(default, Some(value), "{pattern}.{param}");
        }
    }

    fn policy(attempts: u64) -> Option<Policy> {
        Some(Policy {
            attempts,
            attempt_timeout_ms: CLIENT_ATTEMPT_TIMEOUT_MS,
            deadline_ms: CLIENT_DEADLINE_MS,
        })
    }

    fn edge(to: usize) -> Edge<'static> {
        Edge { param: "calls", to }
    }

    #[test]
    fn the_worst_path_takes_the_largest_product_and_stops_at_a_cycle() {
        // 0 → 1 → 2 and 0 → 3; 2 calls back into 0.
        let edges = vec![vec![edge(3), edge(1)], vec![edge(2)], vec![edge(0)], vec![]];
        let policies = vec![policy(2), policy(5), policy(3), policy(4)];
        let best = worst_paths(&edges, &policies);
        assert_eq!(best[0], (2 * 5 * 3, Some(1)));
        assert_eq!(best[1], (5 * 3, Some(2)));
        assert_eq!(best[3], (1, None));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 100_000;
        let edges: Vec<Vec<Edge<'static>>> = (0..n)
            .map(|i| if i + 1 < n { vec![edge(i + 1)] } else { vec![] })
            .collect();
        let policies = vec![policy(2); n];
        let best = worst_paths(&edges, &policies);
        assert_eq!(best[0].0, u64::MAX, "the product saturates");
    }
}
